"""Split decoded X12 text into segments, streaming, re-reading the delimiters at every ISA."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from waybill.connectors.edi.delimiters import MAX_ISA_LENGTH, IsaError, IsaHeader, read_isa

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from waybill.connectors.edi.delimiters import Delimiters

# Bytes that were not UTF-8 (decoded with surrogateescape) and C0 controls other than
# tab/CR/LF: a segment holding one of these is reported, not silently loaded.
SUSPECT_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\udc80-\udcff]")
_BETWEEN_SEGMENTS = " \t\r\n"
# Split at most about this much text at once, so a change of delimiters at a later ISA
# (which discards the pieces after it) costs at most one block.
BLOCK_SIZE = 1 << 20
# No segment is longer than this (16 Mi characters): past it without a terminator the text is
# not X12 as its ISA declared it, and reading on would hold the whole file in memory.
MAX_SEGMENT_LENGTH = 1 << 24


class SegmentReader:
    """Iterate `(position, elements, suspect)` over the segments of decoded X12 text chunks.

    `position` is the 1-based ordinal of the segment in the file; `elements[0]` is its tag;
    `suspect` is True when the segment holds invalid bytes or control characters. When an
    ISA is yielded, `header` holds its IsaHeader. When an ISA cannot be read, iteration stops
    and `fatal` holds `(message, element, position)`; the text after it is not read. When no
    segment terminator comes within MAX_SEGMENT_LENGTH characters, iteration stops and
    `unterminated` holds the position that segment would have had.
    """

    def __init__(self, chunks: Iterable[str]) -> None:
        """Wrap an iterable of text chunks (any sizes; a segment may span chunks)."""
        self._chunks = iter(chunks)
        self.header: IsaHeader | None = None
        self.delimiters: Delimiters | None = None
        self.fatal: tuple[str, str | None, int] | None = None
        self.unterminated: int | None = None
        self.segment_limit = MAX_SEGMENT_LENGTH
        self.first_text: str = ""

    def __iter__(self) -> Iterator[tuple[int, list[str], bool]]:
        """Yield segments in file order; see the class docstring."""
        buf = ""
        pos = 0
        eof = False
        position = 0
        sep = term = ""
        suspect = SUSPECT_CHARS.search
        started = False
        while True:
            # Keep enough text ahead for a whole ISA; slicing once per chunk keeps this linear.
            if not eof and len(buf) - pos < MAX_ISA_LENGTH:
                buf, pos, eof = self._refill(buf, pos)
            n = len(buf)
            while pos < n and buf[pos] in _BETWEEN_SEGMENTS:
                pos += 1
                if pos == n and not eof:
                    buf, pos, eof = self._refill(buf, pos)
                    n = len(buf)
            if pos >= n:
                return
            if not started:
                started = True
                self.first_text = buf[pos : pos + 40]
            if buf.startswith("ISA", pos) and (
                not sep or pos + 3 >= n or not buf[pos + 3].isalnum()
            ):
                position += 1
                header = self._read_header(buf, pos, position)
                if header is None:
                    return
                sep = header.delimiters.element
                term = header.delimiters.segment
                pos = header.end
                yield position, header.elements, False
                continue
            if not sep:
                # Text before any ISA: the delimiters are unknown, nothing can be split.
                return
            # Split everything up to the last terminator in the buffer in one C call; each
            # piece is one segment (plus the CR/LF that may follow a terminator).
            last = buf.rfind(term, pos, pos + BLOCK_SIZE)
            if last < 0:
                last = buf.find(term, pos)
            if last < 0 and not eof:
                buf, pos, eof = self._extend_to(term, buf, pos)
                if len(buf) - pos <= self.segment_limit or term in buf:
                    continue
                # Past the longest segment without a terminator: a bare line break also ends
                # a segment, so split up to the last one; with none, stop reading.
                last = max(buf.rfind("\n", pos), buf.rfind("\r", pos))
                if last < 0:
                    self.unterminated = position + 1
                    return
            block_end = len(buf) if last < 0 else last
            offset = pos
            pos = block_end + 1
            block = buf[offset:block_end]
            # One scan of the block; segments are checked one by one only when it has a hit.
            check = suspect if suspect(block) is not None else None
            for piece in block.split(term):
                piece_start = offset
                offset += len(piece) + 1
                text = piece.strip(_BETWEEN_SEGMENTS)
                if not text:
                    continue
                if text.startswith("ISA") and (len(text) == 3 or not text[3].isalnum()):
                    # A new interchange may use other delimiters: re-read them from its ISA.
                    isa_start = piece_start + len(piece) - len(piece.lstrip(_BETWEEN_SEGMENTS))
                    if not eof and len(buf) - isa_start < MAX_ISA_LENGTH:
                        pos = isa_start  # too close to the buffer's end: refill first
                        break
                    position += 1
                    header = self._read_header(buf, isa_start, position)
                    if header is None:
                        return
                    yield position, header.elements, False
                    same = header.delimiters.element == sep and header.delimiters.segment == term
                    if same and header.end == offset:
                        continue  # same delimiters: the pieces already split stay valid
                    sep, term = header.delimiters.element, header.delimiters.segment
                    pos = header.end
                    break
                if "\n" in text or "\r" in text:
                    # No X12 element may hold a line break, so a bare newline ends a segment
                    # too (senders drop the terminator before a newline now and then).
                    for line in text.splitlines():
                        line = line.strip(_BETWEEN_SEGMENTS)
                        if line:
                            position += 1
                            yield position, line.split(sep), bool(check and check(line))
                    continue
                position += 1
                yield position, text.split(sep), bool(check and check(text))

    def _read_header(self, buf: str, start: int, position: int) -> IsaHeader | None:
        """Read the ISA at `start`; on failure record `fatal` and return None."""
        try:
            header = read_isa(buf, start)
        except IsaError as exc:
            self.fatal = (exc.message, exc.element, position)
            return None
        self.header = header
        self.delimiters = header.delimiters
        return header

    def _refill(self, buf: str, pos: int) -> tuple[str, int, bool]:
        """Drop consumed text and append chunks until MAX_ISA_LENGTH characters are ahead.

        Returns (buffer, position, at end of file); the pieces are joined once.
        """
        parts = [buf[pos:]]
        size = len(parts[0])
        for chunk in self._chunks:
            parts.append(chunk)
            size += len(chunk)
            if size >= MAX_ISA_LENGTH:
                return "".join(parts), 0, False
        return "".join(parts), 0, True

    def _extend_to(self, term: str, buf: str, pos: int) -> tuple[str, int, bool]:
        """Append chunks until one holds `term`, the file ends or MAX_SEGMENT_LENGTH is passed;
        the pieces are joined once, not per chunk."""
        parts = [buf[pos:]]
        size = len(parts[0])
        eof = True
        for chunk in self._chunks:
            parts.append(chunk)
            size += len(chunk)
            if term in chunk or size > self.segment_limit:
                eof = False
                break
        return "".join(parts), 0, eof
