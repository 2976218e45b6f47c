"""The ISA is fixed-width (X12.5): read by position, whatever line breaks a partner wraps into it."""

from __future__ import annotations

import pytest
from x12_builders import STATUS_214, interchange

from waybill.connectors.edi import parse_bytes

# ISA01..ISA16 as the X12 standard fixes them: (value, width). Spelled out here, not taken
# from the parser's own table, so a wrong width in the parser fails these tests.
STANDARD_ISA = [
    ("00", 2), ("", 10), ("00", 2), ("", 10), ("ZZ", 2), ("SENDER", 15), ("ZZ", 2),
    ("RECEIVER", 15), ("240102", 6), ("0304", 4), ("U", 1), ("00401", 5), ("000000905", 9),
    ("0", 1), ("T", 1), (":", 1),
]  # fmt: skip


def standard_isa() -> str:
    """A 105-character ISA (through ISA16) padded to the standard's fixed widths."""
    text = "ISA*" + "*".join(value.ljust(width) for value, width in STANDARD_ISA)
    assert len(text) == 105
    return text


def with_isa(isa_text: str, **kwargs: object) -> str:
    body = interchange([STATUS_214, STATUS_214], **kwargs)  # type: ignore[arg-type]
    return isa_text + body[105:]


@pytest.mark.parametrize(
    ("after", "brk"),
    [
        ("ISA08", "\n"),  # the real partner file: a line break after ISA08's padding
        ("ISA08", "\r\n"),
        ("ISA08*", "\n"),  # after the separator that follows ISA08
        ("ISA03", "\n"),
        ("ISA15", "\r\n"),
    ],
)
def test_wrapped_isa_is_read_by_position(after: str, brk: str) -> None:
    isa_text = standard_isa()
    index = int(after[3:5])
    # Offset just past element `index` (and past its following separator when asked).
    cut = 4 + sum(width + 1 for _, width in STANDARD_ISA[:index]) - 1 + after.count("*")
    wrapped = isa_text[:cut] + brk + isa_text[cut:]

    result = parse_bytes(with_isa(wrapped, newline="\n").encode(), "wrapped.edi")

    assert result.ok, [str(e) for e in result.all_errors()]
    isa = result.interchanges[0].isa
    assert [value.strip() for value in isa[1:]] == [value for value, _ in STANDARD_ISA]
    assert result.interchanges[0].delimiters.segment == "~"
    assert [ts.st_control for ts in result.transaction_sets] == ["0001", "0002"]
    assert any("wrapped across" in warning for warning in result.warnings)


def test_wrapped_isa_in_a_second_interchange_is_read_too() -> None:
    first = interchange([STATUS_214], control="000000001", group="1")
    second = interchange([STATUS_214], control="000000002", group="2")
    at = second.index("RECEIVER") + 15
    second = second[:at] + "\n" + second[at:]

    result = parse_bytes((first + "\n" + second).encode(), "two.edi")

    assert result.ok, [str(e) for e in result.all_errors()]
    assert [ic.control for ic in result.interchanges] == ["000000001", "000000002"]
    assert result.interchanges[1].isa[9] == "240102"


def test_wrapped_isa_with_a_newline_terminator() -> None:
    text = interchange([STATUS_214], term="\n")
    at = text.index("RECEIVER") + 15
    wrapped = text[:at] + "\n" + text[at:]

    result = parse_bytes(wrapped.encode(), "nl.edi")

    assert result.ok, [str(e) for e in result.all_errors()]
    assert result.interchanges[0].isa[16] == ":"
    assert result.transaction_sets[0].record["carrier_pro"] == "PRO123"


def test_a_wrapped_isa_missing_an_element_is_still_rejected_with_a_reason() -> None:
    isa_text = standard_isa()
    cut = isa_text.index("240102")
    broken = isa_text[:cut] + "\n" + isa_text[cut + 7 :]  # ISA09 and its separator gone

    result = parse_bytes(with_isa(broken).encode(), "broken.edi")

    assert result.rejected
    assert result.errors[0].code == "isa_unreadable"
    assert str(result.errors[0]).startswith("broken.edi: rejected: ")
    assert str(result.errors[0]).endswith("(segment ISA at #1)")
