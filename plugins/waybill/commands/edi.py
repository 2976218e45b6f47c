"""``waybill edi parse FILE...`` — one JSON line per X12 transaction set, errors on stderr.

Exit status: 0 when every file is sound; 1 when any envelope or record error was found (the
good transaction sets are still printed); 2 when a file cannot be read.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterable


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add `edi parse FILE... [--no-segments]` to the `waybill` CLI's subparsers."""
    edi = subparsers.add_parser("edi", help="ANSI X12 EDI files (214, 210, 204, 856, ...)")
    edi_sub = edi.add_subparsers(dest="edi_command", required=True)
    parse = edi_sub.add_parser(
        "parse",
        help="print one JSON object per transaction set; errors name file, set and segment",
    )
    parse.add_argument("files", nargs="+", metavar="FILE", help="X12 files to parse")
    parse.add_argument(
        "--no-segments",
        action="store_true",
        help="leave the raw segments out of each JSON line (records and errors only)",
    )
    parse.set_defaults(func=_run_parse)
    return edi


def _run_parse(args: argparse.Namespace) -> int:
    return main(args.files, segments=not args.no_segments)


def main(
    files: Iterable[str],
    *,
    segments: bool = True,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Parse each file, print its transaction sets as JSON lines, and return the exit status.

    Streams: each set is printed as soon as it closes and then dropped, so memory stays flat
    whatever the file size. Writes one JSON object per transaction set to `stdout` (default
    sys.stdout) and one line per error to `stderr` (default sys.stderr), each set's errors
    right after it (with the file-level errors found so far), the rest at the end of the file.
    Never raises on bad input.
    """
    from waybill.connectors.edi import stream_file  # lazy: keep `waybill --help` fast

    out = stdout or sys.stdout
    err = stderr or sys.stderr
    status = 0
    for path in files:
        stream = stream_file(path)
        file_errors = stream.result.errors
        printed = 0
        for tset in stream:
            out.write(json.dumps(tset.to_json_dict(segments=segments), ensure_ascii=False) + "\n")
            # File-level errors met so far, then the set's own, in file order.
            found = [(e.segment_position or 0, 1, e) for e in file_errors[printed:]]
            printed = len(file_errors)
            found.extend((e.segment_position or 0, 0, e) for e in tset.errors)
            for _, _, error in sorted(found, key=lambda item: item[:2]):
                print(str(error), file=err)
        result = stream.result
        if result.read_error is not None:
            print(result.read_error, file=err)
            status = 2
            continue
        for error in file_errors[printed:]:
            print(str(error), file=err)
        if not result.ok:
            status = max(status, 1)
    out.flush()
    return status
