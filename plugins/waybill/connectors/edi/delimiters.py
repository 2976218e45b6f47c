"""Read an ISA header: its 16 elements and the delimiters the rest of the interchange uses.

X12 puts the element separator at ISA character 4, the repetition separator in ISA11 (version
00402 and later), the component separator in ISA16 and the segment terminator right after
ISA16. The ISA is meant to be fixed-width (106 characters); vendor samples often are not, so
a non-fixed-width ISA is accepted when its 16 elements can still be split unambiguously.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# (name, fixed width, kind): kind "id"/"an" are text, "n" must be digits.
ISA_FIELDS: tuple[tuple[str, int, str], ...] = (
    ("ISA01", 2, "id"),
    ("ISA02", 10, "an"),
    ("ISA03", 2, "id"),
    ("ISA04", 10, "an"),
    ("ISA05", 2, "id"),
    ("ISA06", 15, "an"),
    ("ISA07", 2, "id"),
    ("ISA08", 15, "an"),
    ("ISA09", 6, "n"),
    ("ISA10", 4, "n"),
    ("ISA11", 1, "id"),
    ("ISA12", 5, "n"),
    ("ISA13", 9, "n"),
    ("ISA14", 1, "n"),
    ("ISA15", 1, "id"),
    ("ISA16", 1, "sep"),
)
ISA_LENGTH = 3 + sum(width + 1 for _, width, _ in ISA_FIELDS) + 1  # 106 with the terminator
# Offsets of the element separators in a fixed-width ISA (3, 6, 17, ... 103).
_FIXED_OFFSETS: tuple[int, ...] = tuple(
    3 + sum(width + 1 for _, width, _ in ISA_FIELDS[:i]) for i in range(len(ISA_FIELDS))
)
# Beyond this many characters a "header" is not an ISA any more.
MAX_ISA_LENGTH = 400
_NEWLINES = "\r\n"


class IsaError(ValueError):
    """The ISA cannot be read, so the interchange's delimiters are unknown (unrecoverable)."""

    def __init__(self, message: str, element: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.element = element


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The separators of one interchange; `component`/`repetition` are None when unusable."""

    element: str
    segment: str
    component: str | None
    repetition: str | None


@dataclass(slots=True)
class IsaHeader:
    """A read ISA: `elements[0]` is "ISA", `end` is the buffer index just past its terminator."""

    elements: list[str]
    delimiters: Delimiters
    end: int
    warnings: list[str] = field(default_factory=list)
    field_errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def control(self) -> str:
        """ISA13, stripped of padding."""
        return self.elements[13].strip()


def _is_delimiter_char(char: str) -> bool:
    return not char.isalnum() and not char.isspace()


def _split_fixed(buf: str, start: int, sep: str) -> tuple[list[str], int, int] | None:
    """Read a fixed-width ISA by position: (elements, terminator index, line breaks inside).

    The standard fixes every ISA element's width, so the 105 characters from "ISA" through
    ISA16 are read by position. Line breaks inside them (partners wrap the ISA, e.g. after
    ISA08) are skipped; the character right after ISA16 is the segment terminator. Returns
    None when the separators are not at their fixed offsets (a non-fixed-width ISA).
    """
    width = ISA_LENGTH - 1
    if len(buf) >= start + width and all(buf[start + o] == sep for o in _FIXED_OFFSETS):
        return _fixed_elements(buf, start), start + width, 0
    window = buf[start : start + MAX_ISA_LENGTH]
    if "\n" not in window[: width + 1] and "\r" not in window[: width + 1]:
        return None
    kept = [i for i, char in enumerate(window) if char not in _NEWLINES][:width]
    if len(kept) < width or kept[-1] + 1 >= len(window):
        return None
    compact = "".join(window[i] for i in kept)
    if any(compact[offset] != sep for offset in _FIXED_OFFSETS):
        return None
    return _fixed_elements(compact, 0), start + kept[-1] + 1, kept[-1] + 1 - width


def _fixed_elements(text: str, start: int) -> list[str]:
    """The 16 elements of a fixed-width ISA whose "ISA" begins at `text[start]`."""
    elements = ["ISA"]
    for i, (_, width, _) in enumerate(ISA_FIELDS):
        begin = start + _FIXED_OFFSETS[i] + 1
        elements.append(text[begin : begin + width])
    return elements


def _split_loose(buf: str, start: int, sep: str) -> tuple[list[str], int, int]:
    """Split a non-fixed-width ISA by counting 16 element separators on the first line.

    Returns (elements, index of the terminator after ISA16, 0 line breaks inside).
    Raises IsaError when the line ends (or the file ends) before 16 elements.
    """
    elements = ["ISA"]
    pos = start + 4
    limit = min(len(buf), start + MAX_ISA_LENGTH)
    for name, _, _ in ISA_FIELDS[:-1]:
        nxt = buf.find(sep, pos, limit)
        line_end = min(
            (i for i in (buf.find(c, pos, limit) for c in _NEWLINES) if i >= 0), default=-1
        )
        if nxt < 0 or 0 <= line_end < nxt:
            found = len(elements) - 1
            if line_end < 0 and limit == len(buf):
                raise IsaError(
                    f"ISA is truncated: the file ends after {found} of 16 elements", name
                )
            raise IsaError(
                f"ISA has {found} of 16 elements before the end of its line ({name} is missing)",
                name,
            )
        elements.append(buf[pos:nxt])
        pos = nxt + 1
    # ISA16 is exactly one character; what follows it is the segment terminator.
    elements.append(buf[pos : pos + 1])
    return elements, pos + 1, 0


def _validate_fields(elements: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """Check ISA01..ISA15 against their widths and types: (errors, warnings)."""
    errors: list[tuple[str, str]] = []
    warnings: list[str] = []
    for (name, width, kind), raw in zip(ISA_FIELDS[:-1], elements[1:16], strict=True):
        value = raw.strip()
        if len(value) > width:
            errors.append((name, f"{name} {raw!r} is longer than {width} characters"))
            continue
        if kind == "n" and not value.isdigit():
            errors.append((name, f"{name} {raw!r} is not numeric"))
            continue
        if kind == "n" and name in ("ISA09", "ISA10") and len(value) != width:
            errors.append((name, f"{name} {raw!r} must have {width} digits"))
            continue
        if len(raw) != width:
            warnings.append(f"{name} is {len(raw)} characters wide, not {width} (padding)")
    if not elements[13].strip():
        errors.append(("ISA13", "ISA13 (interchange control number) is empty"))
    return errors, warnings


def _trailing_terminator(buf: str, pos: int, sep: str) -> str | None:
    """After a newline-terminated ISA, return the char that ends the next segment, if any.

    Some senders end the ISA with a bare newline but every later segment with `~` and a
    newline; that `~` is the real terminator and would otherwise stick to the last element.
    """
    while pos < len(buf) and buf[pos] in _NEWLINES:
        pos += 1
    end = buf.find("\n", pos, pos + MAX_ISA_LENGTH)
    if end < 0:
        return None
    line = buf[pos:end].rstrip("\r")
    if len(line) < 4 or not line[:2].isalnum():
        return None
    last = line[-1]
    if _is_delimiter_char(last) and last != sep:
        return last
    return None


def read_isa(buf: str, start: int) -> IsaHeader:
    """Read the ISA that begins at `buf[start]` ("ISA") and return its header.

    The caller guarantees that `buf` holds at least MAX_ISA_LENGTH characters after `start`,
    or everything up to the end of the file. Raises IsaError when the delimiters cannot be
    known (truncated ISA, missing or extra elements, clashing separators).
    """
    if len(buf) < start + 4:
        raise IsaError("ISA is truncated: the file ends before the element separator")
    sep = buf[start + 3]
    if not _is_delimiter_char(sep):
        raise IsaError(f"element separator {sep!r} (ISA character 4) is a letter, digit or space")
    elements, term_at, breaks = _split_fixed(buf, start, sep) or _split_loose(buf, start, sep)
    field_errors, field_warnings = _validate_fields(elements)
    if breaks:
        field_warnings.insert(
            0, f"ISA is wrapped across {breaks} line break(s); its elements were read by position"
        )
    try:
        return _read_delimiters(buf, term_at, sep, elements, field_errors, field_warnings)
    except IsaError as exc:
        if field_errors:
            # Say everything that is wrong with the ISA, not only the first thing.
            listed = "; ".join(message for _, message in field_errors)
            raise IsaError(f"{exc.message}; also {listed}", exc.element) from None
        raise


def _read_delimiters(
    buf: str,
    term_at: int,
    sep: str,
    elements: list[str],
    field_errors: list[tuple[str, str]],
    field_warnings: list[str],
) -> IsaHeader:
    component = elements[16]
    if not component:
        raise IsaError("ISA is truncated: the file ends before ISA16", "ISA16")
    if term_at >= len(buf):
        raise IsaError("ISA is truncated: the file ends before the segment terminator", "ISA16")
    term = buf[term_at]
    warnings: list[str] = []
    if component in _NEWLINES:
        raise IsaError("ISA16 (component separator) is missing: the line ends after ISA15", "ISA16")
    if component == sep:
        raise IsaError(f"ISA16 component separator {component!r} equals the element separator")
    if term == sep:
        raise IsaError(
            f"ISA has more than 16 elements: ISA16 {component!r} is followed by the element"
            f" separator {sep!r} instead of a segment terminator",
            "ISA16",
        )
    if term.isalnum() or term in " \t":
        raise IsaError(
            f"segment terminator {term!r} after ISA16 is not a delimiter; ISA16 must be one"
            " character followed by the segment terminator",
            "ISA16",
        )
    if not _is_delimiter_char(component):
        raise IsaError(f"ISA16 component separator {component!r} is a letter, digit or space")
    comp: str | None = component
    if term == component:
        raise IsaError(f"segment terminator {term!r} equals the ISA16 component separator")
    if term in _NEWLINES:
        trailing = _trailing_terminator(buf, term_at + 1, sep)
        if trailing is not None:
            warnings.append(
                f"ISA ends with a newline but the next segment ends with {trailing!r};"
                f" {trailing!r} (optionally followed by a newline) is used as the terminator"
            )
            term = trailing
            if trailing == component:
                warnings.append(
                    f"ISA16 component separator {component!r} is also the segment terminator;"
                    " composite elements are not split"
                )
                comp = None
    _check_next_segment(buf, term_at + 1, term, sep)
    warnings.extend(field_warnings)
    repetition = _repetition_separator(elements, sep, term, comp)
    return IsaHeader(
        elements=elements,
        delimiters=Delimiters(element=sep, segment=term, component=comp, repetition=repetition),
        end=term_at + 1,
        warnings=warnings,
        field_errors=field_errors,
    )


def _repetition_separator(elements: list[str], sep: str, term: str, comp: str | None) -> str | None:
    """ISA11 is a repetition separator from version 00402 on; before that it is a code ("U")."""
    version = elements[12].strip()
    candidate = elements[11]
    if not (version.isdigit() and version >= "00402"):
        return None
    if len(candidate) != 1 or not _is_delimiter_char(candidate):
        return None
    if candidate in (sep, term, comp):
        return None
    return candidate


def _check_next_segment(buf: str, pos: int, term: str, sep: str) -> None:
    """Prove the delimiters work: the text after the ISA must start a GS (or an IEA/TA1).

    With a wrong ISA16 or terminator, the rest of the file would split into nonsense;
    rejecting here gives a reason instead of a cascade of orphan segments.
    """
    n = len(buf)
    while pos < n and (buf[pos] in " \t\r\n" or buf[pos] == term):
        pos += 1
    if pos >= n:
        return  # nothing follows: the missing GE/IEA are reported by the walk
    if any(buf.startswith(tag + sep, pos) for tag in ("GS", "IEA", "TA1")):
        return
    snippet = buf[pos : pos + 20]
    raise IsaError(
        f"after the ISA terminator {term!r} comes {snippet!r}, not a GS segment:"
        " the delimiters in the ISA are wrong",
        "ISA16",
    )
