"""Parse X12 files: walk the segments, check every envelope, build records for the known sets.

The walk is one pass over a streamed segment iterator with a small state machine (outside,
in interchange, in group, in set). A broken set is closed with its errors and the walk goes
on, so the sound sets of the same file still come out. Only an ISA whose delimiters cannot
be read stops the file there.

Two ways to read a file: `parse_file` keeps every set in one `ParseResult` (small files,
tests); `stream_file` yields each set as soon as it closes and keeps none, so memory stays
flat whatever the file size. Both run the same walk; an optional listener (the 997 writer)
hears every set, group and interchange as it closes.
"""

from __future__ import annotations

import codecs
import gc
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from waybill.connectors.edi.caps import over_cap
from waybill.connectors.edi.errors import ENVELOPE, RECORD, SYNTAX, EdiError
from waybill.connectors.edi.models import (
    FunctionalGroup,
    Interchange,
    ParseResult,
    TransactionSet,
    element,
    element_name,
)
from waybill.connectors.edi.records import RECORD_BUILDERS, record_header
from waybill.connectors.edi.tokenizer import SUSPECT_CHARS, SegmentReader

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Protocol

    from waybill.connectors.edi.models import Segment

    class Listener(Protocol):
        """Told about each envelope as the walk closes it (the 997 writer is one)."""

        def interchange_opened(self, interchange: Interchange) -> None: ...
        def set_closed(self, group: FunctionalGroup, tset: TransactionSet) -> None: ...
        def group_closed(self, group: FunctionalGroup) -> None: ...
        def interchange_closed(self, interchange: Interchange) -> None: ...


CHUNK_SIZE = 1 << 20
# A hostile file could produce an error per segment; past this many file-level errors the
# rest are counted. Set errors are not capped by it (they decide whether a set lands and
# are dropped with the set); past MAX_SET_ERRORS in one set the rest are not listed.
MAX_ERRORS = 1000
MAX_SET_ERRORS = 100
_ENVELOPE_TAGS = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
# Per trailer: what its element 1 counts, what a bad count is called in the error, and the
# header element whose control number its element 2 must repeat.
_TRAILERS = {
    "SE": ("segments", "segment count", "ST02"),
    "GE": ("transaction sets", "count", "GS06"),
    "IEA": ("functional groups", "count", "ISA13"),
}


def _same_number(declared: str, actual: str) -> bool:
    """Control numbers match when equal as numbers (`3438` == `000003438`) or as text."""
    left, right = declared.strip(), actual.strip()
    if left.isdigit() and right.isdigit():
        return int(left) == int(right)
    return left == right


def _count(value: str | None) -> int | None:
    """Read a declared count (SE01, GE01, IEA01), tolerating zero- or space-padding."""
    if value is None:
        return None
    text = value.strip()
    return int(text) if text.isdigit() else None


class _Walker:
    """The envelope state machine for one file; feed it segments, then `finish()`."""

    def __init__(
        self, source: str, *, retain: bool = True, listener: Listener | None = None
    ) -> None:
        self.source = source
        self.retain = retain  # keep sets, groups and interchanges in the result
        self.listener = listener
        self.ready: list[TransactionSet] = []  # closed sets not yet handed out (streaming)
        self.result = ParseResult(source=source)
        self.interchange: Interchange | None = None
        self.group: FunctionalGroup | None = None
        self.tset: TransactionSet | None = None
        self.skipping = False  # after an orphan segment, until the next envelope segment
        self.last: tuple[str, int] = ("", 0)
        self.error_count = 0
        self.suppressed = 0
        self.good_tags: set[str] = set()
        self.st_controls: set[str] = set()
        # (group, its record header): the group itself is held, so the key cannot be reused.
        self.header_cache: tuple[FunctionalGroup | None, dict[str, Any]] = (None, {})

    # ----------------------------------------------------------------- errors
    def error(
        self,
        code: str,
        message: str,
        *,
        level: str = ENVELOPE,
        tag: str | None = None,
        position: int | None = None,
        element_index: int | None = None,
        tset: TransactionSet | None = None,
        group: FunctionalGroup | None = None,
        interchange: Interchange | None = None,
    ) -> None:
        """Record one error where it belongs: on the set if given, else on the group, else on
        the interchange (group and interchange errors are also file errors), else the file."""
        if tset is None:
            self.error_count += 1
            if self.error_count > MAX_ERRORS:
                self.suppressed += 1
                return
        elif len(tset.errors) >= MAX_SET_ERRORS:
            return
        err = EdiError(
            file=self.source,
            code=code,
            message=message,
            level=level,
            isa_control=tset.isa_control
            if tset
            else (interchange.control if interchange else None),
            gs_control=tset.gs_control if tset else (group.control if group else None),
            st_control=tset.st_control if tset else None,
            segment_tag=tag,
            segment_position=position,
            set_position=(position - tset.position + 1) if tset and position else None,
            element=element_name(tag, element_index) if tag and element_index else None,
            element_index=element_index,
        )
        if tset is not None:
            tset.errors.append(err)
            return
        self.result.errors.append(err)
        if group is not None:
            group.errors.append(err)
        if interchange is not None:
            interchange.errors.append(err)

    # ------------------------------------------------------------- segments
    def feed(self, position: int, seg: Segment, suspect: bool, reader: SegmentReader) -> None:
        """Handle one segment in file order."""
        tag = seg[0]
        self.last = (tag, position)
        tset = self.tset
        if tset is not None and tag not in _ENVELOPE_TAGS:
            tset.body.append(seg)
            if suspect:
                self._suspect(seg, position, tset)
            if tag not in self.good_tags:
                self._check_tag(seg, position, tset)
            self._check_caps(seg, position, tset)
            return
        if suspect:
            self._suspect(seg, position, tset)
        if tag == "ST":
            # Cut first: ST02 names the set in every later error.
            over = self._cut_over_cap(seg)
            self._st(seg, position)
            if over is not None:
                self._report_over_cap(seg, position, over, self.tset)
            return
        if tag != "ISA":
            self._check_caps(seg, position, tset if tag == "SE" else None)
        if tag == "ISA":
            self._isa(seg, position, reader)
        elif self.skipping and tag not in _ENVELOPE_TAGS:
            return  # one error per run of orphan segments is enough
        elif tag == "GS":
            self._gs(seg, position)
        elif tag == "SE":
            self._se(seg, position)
        elif tag == "GE":
            self._ge(seg, position)
        elif tag == "IEA":
            self._iea(seg, position)
        else:
            self._orphan(tag, position)

    def _check_tag(self, seg: Segment, position: int, tset: TransactionSet) -> None:
        tag = seg[0]
        if (
            2 <= len(tag) <= 3
            and tag.isascii()
            and tag.isalnum()
            and tag[0].isalpha()
            and tag == tag.upper()
        ):
            self.good_tags.add(tag)
            return
        self.error(
            "bad_tag",
            f"{tag[:20]!r} is not a valid segment identifier",
            level=SYNTAX,
            tag=tag[:20],
            position=position,
            tset=tset,
        )

    def _check_caps(self, seg: Segment, position: int, tset: TransactionSet | None) -> None:
        """Report an element longer than its cap (fatal for its set) and cut it to the cap + 1."""
        over = self._cut_over_cap(seg)
        if over is not None:
            self._report_over_cap(seg, position, over, tset)

    @staticmethod
    def _cut_over_cap(seg: Segment) -> tuple[int, int, int, str] | None:
        """Cut the first element over its cap to cap + 1 characters, so a hostile 10 MB value
        goes no further (segments, errors, dead letters, logs); return (index, cap, length,
        first 20 characters) or None."""
        found = over_cap(seg)
        if found is None:
            return None
        index, cap = found
        value = seg[index]
        seg[index] = value[: cap + 1]
        return index, cap, len(value), value[:20]

    def _report_over_cap(
        self,
        seg: Segment,
        position: int,
        over: tuple[int, int, int, str],
        tset: TransactionSet | None,
    ) -> None:
        index, cap, length, head = over
        tag = seg[0]
        self.error(
            "element_too_long",
            f"{element_name(tag, index)} is {length} characters long, over its cap of"
            f" {cap} (starts {head!r})",
            level=SYNTAX,
            tag=tag,
            position=position,
            element_index=index,
            tset=tset,
            group=self.group,
            interchange=self.interchange,
        )

    def _suspect(self, seg: Segment, position: int, tset: TransactionSet | None) -> None:
        """Report the first element holding invalid bytes or control characters, then clean
        the segment so the JSON output stays valid UTF-8."""
        tag = seg[0]
        for i, value in enumerate(seg):
            match = SUSPECT_CHARS.search(value)
            if match is None:
                continue
            char = match.group()
            name = element_name(tag, i) if i else "segment tag"
            if "\udc80" <= char <= "\udcff":
                byte = ord(char) - 0xDC00
                code, what = "bad_bytes", f"byte 0x{byte:02X} that is not valid UTF-8"
            else:
                code, what = "control_character", f"control character U+{ord(char):04X}"
            self.error(
                code,
                f"{name} contains {what}",
                level=SYNTAX,
                tag=tag if i else None,
                position=position,
                element_index=i or None,
                tset=tset,
                group=self.group,
                interchange=self.interchange,
            )
            break
        for i, value in enumerate(seg):
            if SUSPECT_CHARS.search(value):
                cleaned = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                seg[i] = SUSPECT_CHARS.sub("\ufffd", cleaned)

    def _orphan(self, tag: str, position: int) -> None:
        if self.interchange is None:
            where = "outside any interchange (no ISA before it)"
        elif self.group is None:
            where = "outside a functional group (no GS before it)"
        else:
            where = "between transaction sets (no ST before it)"
        self.error(
            "orphan_segment",
            f"segment {tag[:20]} is {where}; skipped up to the next envelope segment",
            tag=tag[:20],
            position=position,
            group=self.group,
            interchange=self.interchange,
        )
        self.skipping = True

    def _isa(self, seg: Segment, position: int, reader: SegmentReader) -> None:
        self._close_interchange("ISA", position)
        header = reader.header
        assert header is not None  # the reader sets it before yielding an ISA
        ic = Interchange(
            isa=seg, position=position, control=header.control, delimiters=header.delimiters
        )
        self.interchange = ic
        self.result.interchange_count += 1
        if self.retain:
            self.result.interchanges.append(ic)
        if self.listener is not None:
            self.listener.interchange_opened(ic)
        self.skipping = False
        for name, message in header.field_errors:
            self.error(
                "isa_field",
                message,
                tag="ISA",
                position=position,
                element_index=int(name[3:]),
                interchange=ic,
            )
        self.result.warnings.extend(
            f"{self.source}: interchange {ic.control}: {w} (segment ISA at #{position})"
            for w in header.warnings
        )

    def _gs(self, seg: Segment, position: int) -> None:
        self._close_set("GS", position)
        if self.group is not None:
            self._missing("ge_missing", "GE", position, "a new GS")
            self._group_done()
        if self.interchange is None:
            self._orphan("GS", position)
            return
        self.skipping = False
        group = FunctionalGroup(
            gs=seg,
            position=position,
            control=element(seg, 6),
            functional_id=element(seg, 1),
            sender_id=element(seg, 2),
            receiver_id=element(seg, 3),
            version=element(seg, 8),
        )
        self.group = group
        self.st_controls = set()
        self.interchange.group_count += 1
        if self.retain:
            self.interchange.groups.append(group)
        if group.control is None:
            self.error(
                "gs_control_missing",
                "GS06 (group control number) is empty",
                tag="GS",
                position=position,
                element_index=6,
                group=group,
                interchange=self.interchange,
            )
        if group.functional_id is None:
            self.error(
                "gs_fields",
                "GS01 (functional identifier) is empty",
                tag="GS",
                position=position,
                element_index=1,
                group=group,
                interchange=self.interchange,
            )

    def _st(self, seg: Segment, position: int) -> None:
        self._close_set("ST", position)
        if self.group is None or self.interchange is None:
            self._orphan("ST", position)
            return
        self.skipping = False
        tset = TransactionSet(
            file=self.source,
            isa_control=self.interchange.control,
            gs_control=self.group.control,
            st_control=element(seg, 2),
            type=element(seg, 1),
            envelope=[self.interchange.isa, self.group.gs],
            body=[seg],
            position=position,
        )
        self.tset = tset
        self.group.set_count += 1
        self.result.set_count += 1
        if self.retain:
            self.group.sets.append(tset)
            self.result.transaction_sets.append(tset)
        if tset.type is None:
            self.error(
                "st_type_missing",
                "ST01 (transaction set identifier) is empty",
                tag="ST",
                position=position,
                element_index=1,
                tset=tset,
            )
        if tset.st_control is None:
            self.error(
                "st_control_missing",
                "ST02 (transaction set control number) is empty",
                tag="ST",
                position=position,
                element_index=2,
                tset=tset,
            )
        elif tset.st_control in self.st_controls:
            self.error(
                "st_control_duplicate",
                f"ST02 {tset.st_control} is used twice in this group",
                tag="ST",
                position=position,
                element_index=2,
                tset=tset,
            )
        else:
            self.st_controls.add(tset.st_control)

    def _se(self, seg: Segment, position: int) -> None:
        tset = self.tset
        if tset is None:
            self._orphan("SE", position)
            return
        tset.body.append(seg)
        tset.closed = True
        self.tset = None
        self._check_trailer("SE", seg, position, len(tset.body), tset.st_control, tset=tset)
        self._build_record(tset)
        self._set_done(tset)

    def _set_done(self, tset: TransactionSet) -> None:
        """A set is closed and final: count it, tell the listener, queue it when streaming."""
        if tset.errors:
            self.result.sets_with_errors += 1
        if self.listener is not None and self.group is not None:
            self.listener.set_closed(self.group, tset)
        if not self.retain:
            self.ready.append(tset)

    def _group_done(self) -> None:
        """The open group is closed (by GE or by what came instead); forget it."""
        group = self.group
        self.group = None
        if group is not None and self.listener is not None:
            self.listener.group_closed(group)

    def _interchange_done(self) -> None:
        """The open interchange is closed (by IEA or by what came instead); forget it."""
        ic = self.interchange
        self.interchange = None
        if ic is not None and self.listener is not None:
            self.listener.interchange_closed(ic)

    def _build_record(self, tset: TransactionSet) -> None:
        builder = RECORD_BUILDERS.get(tset.type or "")
        if builder is None or not tset.accepted:
            return
        assert self.interchange is not None and self.group is not None
        if self.header_cache[0] is not self.group:
            # The partner ids are the same for every set of a group: build them once.
            self.header_cache = (self.group, record_header(self.interchange, self.group))
        header = {
            "transaction_set": tset.type,
            **self.header_cache[1],
            "transaction_set_control": tset.st_control,
        }
        try:
            record, issues = builder(tset.body, header)
        except Exception as exc:  # a builder bug must not cost the rest of the file
            self.error(
                "record_failed",
                f"could not build the {tset.type} record: {exc!r}",
                level=RECORD,
                tag="ST",
                position=tset.position,
                tset=tset,
            )
            return
        tset.record = record
        for issue in issues:
            at = issue.index
            seg = tset.body[at] if at is not None and at < len(tset.body) else None
            self.error(
                issue.code,
                issue.message,
                level=RECORD,
                tag=seg[0] if seg else None,
                position=tset.position + at if at is not None else None,
                element_index=issue.element_index if seg else None,
                tset=tset,
            )

    def _ge(self, seg: Segment, position: int) -> None:
        self._close_set("GE", position)
        group = self.group
        if group is None:
            self._orphan("GE", position)
            return
        self.skipping = False
        group.ge = seg
        self._check_trailer(
            "GE",
            seg,
            position,
            group.set_count,
            group.control,
            group=group,
            interchange=self.interchange,
        )
        self._group_done()

    def _iea(self, seg: Segment, position: int) -> None:
        self._close_set("IEA", position)
        if self.group is not None:
            self._missing("ge_missing", "GE", position, "IEA")
            self._group_done()
        ic = self.interchange
        if ic is None:
            self._orphan("IEA", position)
            return
        ic.iea = seg
        self._check_trailer("IEA", seg, position, ic.group_count, ic.control, interchange=ic)
        self._interchange_done()
        self.skipping = False

    def _check_trailer(
        self,
        tag: str,
        seg: Segment,
        position: int,
        found: int,
        header_control: str | None,
        *,
        tset: TransactionSet | None = None,
        group: FunctionalGroup | None = None,
        interchange: Interchange | None = None,
    ) -> None:
        """Check a trailer (SE, GE or IEA) at ``position`` against the envelope it closes.

        Element 1 must be a count equal to ``found`` (segments in the set, sets in the group,
        groups in the interchange); element 2 must match ``header_control``, the header's
        control number (ST02, GS06 or ISA13; not checked when the header had none). Each
        mismatch is recorded with :meth:`error` on ``tset``, or on ``group``/``interchange``,
        as ``<tag>_count_invalid``, ``<tag>_count`` or ``<tag>_control`` in lower case
        (``se_count``, ``ge_control``, ``iea_count_invalid``, ...). Raises nothing.
        """
        counted, count_name, header_element = _TRAILERS[tag]
        code = tag.lower()
        where: dict[str, Any] = {"tset": tset, "group": group, "interchange": interchange}
        declared_raw = element(seg, 1)
        declared = _count(declared_raw)
        if declared is None:
            self.error(
                f"{code}_count_invalid",
                f"{tag}01 {declared_raw!r} is not a {count_name}",
                tag=tag,
                position=position,
                element_index=1,
                **where,
            )
        elif declared != found:
            self.error(
                f"{code}_count",
                f"{tag}01 declares {declared} {counted}, found {found}",
                tag=tag,
                position=position,
                element_index=1,
                **where,
            )
        control = element(seg, 2)
        if header_control is not None and (
            control is None or not _same_number(control, header_control)
        ):
            self.error(
                f"{code}_control",
                f"{tag}02 {control} does not match {header_element} {header_control}",
                tag=tag,
                position=position,
                element_index=2,
                **where,
            )

    # -------------------------------------------------------------- closing
    def _close_set(self, by: str, position: int) -> None:
        """Close a set that never got its SE (the next envelope segment came first)."""
        tset = self.tset
        if tset is None:
            return
        self.tset = None
        last_tag, last_position = tset.body[-1][0], tset.position + len(tset.body) - 1
        if last_position > self.last[1]:
            self.last = (last_tag, last_position)  # the hot path does not track `last`
        reason = "the file ends" if by == "EOF" else f"{by} at #{position} comes"
        self.error(
            "se_missing",
            f"SE missing: {reason} before the transaction set's trailer",
            tag=last_tag,
            position=last_position,
            tset=tset,
        )
        self._set_done(tset)

    def _missing(self, code: str, trailer: str, position: int, by: str) -> None:
        reason = "the file ends" if by == "EOF" else f"{by} at #{position} comes"
        last_tag, last_position = self.last
        self.error(
            code,
            f"{trailer} missing: {reason} before the trailer",
            tag=last_tag,
            position=last_position,
            group=self.group if trailer == "GE" else None,
            interchange=self.interchange,
        )

    def _close_interchange(self, by: str, position: int) -> None:
        self._close_set(by, position)
        if self.group is not None:
            self._missing("ge_missing", "GE", position, by)
            self._group_done()
        if self.interchange is not None:
            self._missing("iea_missing", "IEA", position, by)
            self._interchange_done()

    def finish(self, reader: SegmentReader) -> ParseResult:
        """Close whatever is still open at the end of the text and return the result."""
        if reader.fatal is not None:
            message, element_id, position = reader.fatal
            self._close_interchange("EOF", position)
            self.error(
                "isa_unreadable",
                f"rejected: {message}",
                tag="ISA",
                position=position,
                element_index=int(element_id[3:]) if element_id else None,
            )
        elif reader.unterminated is not None:
            position = reader.unterminated
            self._close_interchange("EOF", position)
            self.error(
                "segment_unterminated",
                f"stopped: segment #{position} has no terminator within {reader.segment_limit:,}"
                " characters; the rest of the file is not read",
                position=position,
            )
        elif not self.result.interchange_count:
            seen = reader.first_text
            message = (
                "rejected: the file is empty"
                if not seen
                else f"rejected: the file does not start with an ISA segment (found {seen!r})"
            )
            self.error("not_x12", message, position=1 if seen else None)
        else:
            self._close_interchange("EOF", self.last[1])
        if self.suppressed:
            self.result.errors.append(
                EdiError(
                    file=self.source,
                    code="too_many_errors",
                    message=f"{self.suppressed} more errors not listed",
                )
            )
        return self.result


def _walk(walker: _Walker, chunks: Iterable[str]) -> Iterator[TransactionSet]:
    """Feed every segment of `chunks` to `walker`; yield the sets it closes (streaming only)."""
    reader = SegmentReader(chunks)
    feed = walker.feed
    ready = walker.ready
    known_body_tags = walker.good_tags  # never holds an envelope tag
    for position, seg, suspect in reader:
        # Hot path: a clean, known segment within its caps inside an open set is just appended.
        tset = walker.tset
        if tset is not None and not suspect and seg[0] in known_body_tags and not over_cap(seg):
            tset.body.append(seg)
            continue
        feed(position, seg, suspect, reader)
        if ready:
            yield from ready
            ready.clear()
    walker.finish(reader)
    yield from ready
    ready.clear()


def parse_text_chunks(chunks: Iterable[str], source: str) -> ParseResult:
    """Parse decoded X12 text given as chunks of any size (streamed; a chunk may end mid-segment).

    Keeps every set in the result. Reads nothing else and writes nothing. Never raises on bad
    data: problems are in `ParseResult.errors` and each `TransactionSet.errors`.
    """
    walker = _Walker(source)
    with _collector_paused():
        for _ in _walk(walker, chunks):
            pass  # a retaining walk queues nothing
    return walker.result


class _ReadError(Exception):
    """The text could not be opened or read (an OSError from the chunk source, not a listener)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _reading(chunks: Callable[[], Iterable[str]]) -> Iterator[str]:
    """Yield the chunks, turning an OSError raised while opening or reading into _ReadError."""
    try:
        yield from chunks()
    except OSError as exc:
        raise _ReadError(exc.strerror or str(exc)) from exc


class X12Stream:
    """The transaction sets of one X12 text, yielded one at a time as each closes.

    Iterate once. Each set comes with its envelope checks (SE count and control) and record
    done; GE/IEA checks, ISA problems and orphan segments land in `result.errors` (at most
    MAX_ERRORS) as the walk meets them, so `result` is complete once iteration ends. No set,
    group or interchange is kept: memory stays flat whatever the size of the text.
    """

    def __init__(
        self,
        source: str,
        chunks: Callable[[], Iterable[str]],
        *,
        listener: Listener | None = None,
    ) -> None:
        """`chunks()` opens the text (it may raise OSError: the read error is recorded)."""
        self._walker = _Walker(source, retain=False, listener=listener)
        self._chunks = chunks
        self.result = self._walker.result

    def __iter__(self) -> Iterator[TransactionSet]:
        """Yield each transaction set, in file order, once it is closed."""
        source = self.result.source
        try:
            yield from _walk(self._walker, _reading(self._chunks))
        except _ReadError as exc:
            reason = exc.reason
            self.result.read_error = f"{source}: cannot read: {reason}"
            self.result.errors.append(
                EdiError(file=source, code="unreadable", message=f"cannot read: {reason}")
            )


def stream_text_chunks(
    chunks: Iterable[str], source: str, *, listener: Listener | None = None
) -> X12Stream:
    """Stream decoded X12 text given as chunks of any size; see X12Stream."""
    return X12Stream(source, lambda: chunks, listener=listener)


def stream_file(
    path: str | Path, *, listener: Listener | None = None, chunk_size: int | None = None
) -> X12Stream:
    """Stream an X12 file read `chunk_size` bytes (default CHUNK_SIZE) at a time; see X12Stream.

    Errors name the file as given in `path`. An unreadable file does not raise: iteration
    yields nothing and `result.read_error` is set.
    """

    def chunks() -> Iterator[str]:
        with Path(path).open("rb") as handle:
            yield from _decode_stream(_read_chunks(handle, chunk_size or CHUNK_SIZE))

    return X12Stream(str(path), chunks, listener=listener)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a parse allocates its many small lists.

    The parse creates no reference cycles, but every few hundred allocations CPython would
    rescan the growing heap of segments: that made a 6 MB file three to four times slower.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _decode_stream(byte_chunks: Iterable[bytes]) -> Iterator[str]:
    """Decode UTF-8 incrementally; invalid bytes become lone surrogates, reported per segment."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="surrogateescape")
    first = True
    for chunk in byte_chunks:
        text = decoder.decode(chunk)
        if first and text:
            text = text.removeprefix("\ufeff")
            first = False
        yield text
    yield decoder.decode(b"", final=True)


def parse_bytes(data: bytes, source: str) -> ParseResult:
    """Parse a whole X12 file held in memory; `source` names it in every error."""
    return parse_text_chunks(_decode_stream([data]), source)


def _read_chunks(handle: Any, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    while chunk := handle.read(size):
        yield chunk


def parse_file(path: str | Path) -> ParseResult:
    """Parse an X12 file, streaming it in 1 MiB chunks.

    Errors name the file as given in `path`. An unreadable file (missing, a directory, no
    permission) does not raise: the result has `read_error` set and no sets.
    """
    source = str(path)
    try:
        with Path(path).open("rb") as handle:
            return parse_text_chunks(_decode_stream(_read_chunks(handle)), source)
    except OSError as exc:
        result = ParseResult(
            source=source, read_error=f"{source}: cannot read: {exc.strerror or exc}"
        )
        result.errors.append(
            EdiError(file=source, code="unreadable", message=f"cannot read: {exc.strerror or exc}")
        )
        return result
