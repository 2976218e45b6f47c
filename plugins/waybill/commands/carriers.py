"""``waybill carriers normalize --format FORMAT [--source-channel api] FILE...``.

Prints one JSON line per tracking event (the canonical event plus ``"file"``) on stdout and
one line per bad record on stderr (file, JSON path, field, reason; a carrier's own error or
warning keeps its code and message). Exit status: 0 when every record normalised, 1 when any
record was bad (the others are still printed), 2 when a file could not be read, is not JSON,
or is not a document of the given format (the other files are still processed).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from waybill.connectors.carriers import FORMATS, DocumentError, NormalizeError, normalize

if TYPE_CHECKING:
    import argparse

EXIT_OK = 0
EXIT_RECORD_ERRORS = 1
EXIT_BAD_FILE = 2


def register(subparsers: Any) -> None:
    """Add ``carriers normalize`` to the ``waybill`` argument parser's subcommands."""
    carriers = subparsers.add_parser("carriers", help="carrier tracking feeds")
    commands = carriers.add_subparsers(dest="carriers_command")
    command = commands.add_parser(
        "normalize",
        help="print one canonical JSON line per tracking event in carrier JSON files",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    command.add_argument("--format", dest="fmt", required=True, choices=sorted(FORMATS))
    command.add_argument(
        "--carrier-code", default=None, help="carrier_code to stamp on events (default: per format)"
    )
    command.add_argument(
        "--source-channel",
        default="api",
        help="source_channel to stamp on events: api (default), webhook, file, …",
    )
    command.add_argument("files", nargs="+", metavar="FILE")
    command.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    return main(
        args.fmt, args.files, carrier_code=args.carrier_code, source_channel=args.source_channel
    )


def _reject_constant(name: str) -> Any:
    # NaN/Infinity are not JSON and Postgres JSONB rejects them: fail the file, not the load.
    raise ValueError(f"non-standard JSON constant {name}")


def _read(path: str) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle, parse_constant=_reject_constant)


def main(
    fmt: str,
    files: list[str],
    *,
    carrier_code: str | None = None,
    source_channel: str = "api",
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Normalise each file of format ``fmt``; write events to ``stdout``, errors to ``stderr``.

    Reads every path in ``files`` (a whole JSON document each); stamps ``source_channel`` on
    every event. Returns 2 if any file was unreadable, not valid JSON or not of format ``fmt``,
    else 1 if any record was bad, else 0. Raises ``ValueError`` for an unknown ``fmt``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown carrier format {fmt!r}; expected one of {sorted(FORMATS)}")
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    status = EXIT_OK
    for path in files:
        try:
            doc = _read(path)
        except OSError as exc:
            print(f"{path}: cannot read file: {exc.strerror or exc}", file=err)
            status = EXIT_BAD_FILE
            continue
        except (ValueError, RecursionError) as exc:
            # json.JSONDecodeError and UnicodeDecodeError are both ValueErrors.
            print(f"{path}: not a valid JSON document: {exc}", file=err)
            status = EXIT_BAD_FILE
            continue
        items = normalize(
            doc, fmt, source_channel=source_channel, source=path, carrier_code=carrier_code
        )
        lines: list[str] = []
        problems: list[str] = []
        try:
            for item in items:
                if isinstance(item, NormalizeError):
                    problems.append(str(item))
                    continue
                line = {"file": path, **item.to_dict()}
                lines.append(json.dumps(line, ensure_ascii=False, separators=(",", ":")))
        except DocumentError as exc:
            print(f"{path}: {exc}", file=err)
            status = EXIT_BAD_FILE
            continue
        for text in lines:
            out.write(text + "\n")
        for problem in problems:
            print(problem, file=err)
        if problems:
            status = max(status, EXIT_RECORD_ERRORS)
    out.flush()
    return status
