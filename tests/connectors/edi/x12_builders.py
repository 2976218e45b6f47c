"""Builders for the X12 tests: corpus file names and small synthetic interchanges.

A plain module (not conftest) so test modules can import it; pytest puts this folder on
sys.path because the tests here are not in a package.
"""

from __future__ import annotations

from pathlib import Path

X12_CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus" / "x12"


def corpus_names(subdir: str = "") -> list[str]:
    """File names in the x12 corpus folder (for parametrizing), or a placeholder when absent."""
    folder = X12_CORPUS / subdir
    if not folder.is_dir():
        return ["<corpus absent>"]
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def isa(control: str = "000000905", *, sep: str = "*", component: str = ":") -> str:
    """A fixed-width ISA (106 characters without its terminator's trailing newline)."""
    fields = [
        "ISA", "00", " " * 10, "00", " " * 10, "ZZ", "SENDER".ljust(15), "ZZ",
        "RECEIVER".ljust(15), "240102", "0304", "U", "00401", control, "0", "T", component,
    ]  # fmt: skip
    return sep.join(fields)


def interchange(
    sets: list[list[str]],
    *,
    control: str = "000000905",
    group: str = "905",
    term: str = "~",
    newline: str = "",
    functional_id: str = "QM",
    trailers: bool = True,
) -> str:
    """An ISA..IEA text with one GS holding `sets` (each a list of body segments, ST..SE excl.).

    ST/SE are added with correct counts and control numbers `0001`, `0002`, ...
    """
    end = term + newline
    lines = [
        isa(control) + end,
        f"GS*{functional_id}*SENDER*RECEIVER*20240102*0304*{group}*X*004010{end}",
    ]
    for number, body in enumerate(sets, start=1):
        st = f"{number:04d}"
        lines.append(f"ST*{'214' if functional_id == 'QM' else '210'}*{st}{end}")
        lines.extend(segment + end for segment in body)
        lines.append(f"SE*{len(body) + 2}*{st}{end}")
    if trailers:
        lines.append(f"GE*{len(sets)}*{group}{end}")
        lines.append(f"IEA*1*{control}{end}")
    return "".join(lines)


STATUS_214 = [
    "B10*PRO123*SHIPREF9*ABCD",
    "N1*CN*CONSIGNEE INC",
    "N4*BOSTON*MA*02110*US",
    "LX*1",
    "AT7*D1*NS***20240102*1530*ET",
    "MS1*BOSTON*MA*US",
]
INVOICE_210 = [
    "B3**INV1*PRO123*PP**20240102*12550",
    "C3*USD",
    "LX*1",
    "L1*1*1.00*FR*10050",
    "LX*2",
    "L1*2***2500****FUE",
]
