"""Streaming parse: sets come out one at a time, nothing is kept, and the checks still hold."""

from __future__ import annotations

import io
import tracemalloc
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from test_edi_corpus import count_st
from x12_builders import INVOICE_210, STATUS_214, corpus_names, interchange

from waybill.connectors.edi import (
    build_997,
    parse_bytes,
    parse_file,
    parse_text_chunks,
    stream_file,
    stream_text_chunks,
)
from waybill.connectors.edi.acknowledgment import AckWriter

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

NOW = datetime(2024, 1, 2, 3, 4, tzinfo=UTC)


def summary(tset) -> tuple:
    return (
        tset.type,
        tset.st_control,
        tset.segments,
        tset.record,
        [str(e) for e in tset.errors],
    )


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 64])
@pytest.mark.parametrize(
    "name",
    [
        "edinet_210-MGCTLYST-SAMPLE.EDI",
        "omniparser_canadapost_edi_214_19sets.txt",
        "ediengine_940_MultipleInterchangesAndGroups.edi",
        "edinet_204-MGCTLYST-SAMPLE.EDI",
    ],
)
def test_streamed_in_tiny_byte_chunks_equals_the_whole_parse(
    x12_corpus: Path, name: str, chunk_size: int
) -> None:
    path = x12_corpus / name
    whole = parse_file(path)

    stream = stream_file(path, chunk_size=chunk_size)
    streamed = [summary(tset) for tset in stream]

    assert streamed == [summary(tset) for tset in whole.transaction_sets]
    assert [str(e) for e in stream.result.errors] == [str(e) for e in whole.errors]
    assert stream.result.ok == whole.ok


@pytest.mark.parametrize("name", corpus_names() + corpus_names("edge_cases"))
def test_every_corpus_file_streams_with_its_sets_counted_independently(
    x12_corpus: Path, name: str
) -> None:
    path = x12_corpus / name if (x12_corpus / name).exists() else x12_corpus / "edge_cases" / name

    stream = stream_file(path, chunk_size=5)
    sets = list(stream)

    if stream.result.rejected:
        assert not sets
        assert stream.result.errors
    else:
        assert len(sets) == stream.result.set_count == count_st(path.read_bytes())
    assert stream.result.transaction_sets == [] and stream.result.interchanges == []
    for error in stream.result.errors:
        assert str(error).startswith(str(path))


def test_a_utf8_character_split_across_chunks_is_decoded_whole(tmp_path: Path) -> None:
    path = tmp_path / "utf8.edi"
    path.write_bytes(interchange([STATUS_214]).replace("CONSIGNEE", "CONSIGNÉE").encode())

    (tset,) = stream_file(path, chunk_size=1)

    assert not tset.errors
    assert tset.record["parties"][0]["name"] == "CONSIGNÉE INC"


def test_sets_are_yielded_before_the_rest_of_the_file_is_read() -> None:
    text = interchange([STATUS_214] * 50)
    chunks_read = []

    def chunks() -> Iterator[str]:
        for start in range(0, len(text), 10):
            chunks_read.append(start)
            yield text[start : start + 10]

    stream = stream_text_chunks(chunks(), "lazy.edi")
    first = next(iter(stream))

    assert first.st_control == "0001"
    assert len(chunks_read) * 10 < len(text) // 4


def test_envelope_checks_hold_when_streaming() -> None:
    text = interchange([STATUS_214, STATUS_214, STATUS_214])
    text = text.replace("SE*8*0002", "SE*9*0002").replace("GE*3*905", "GE*4*905")
    text = text.replace("IEA*1*000000905", "IEA*1*000000906")

    stream = stream_text_chunks([text[i : i + 3] for i in range(0, len(text), 3)], "env.edi")
    sets = list(stream)

    assert [ts.st_control for ts in sets] == ["0001", "0002", "0003"]
    assert [e.code for e in sets[1].errors] == ["se_count"]
    assert [e.code for e in stream.result.errors] == ["ge_count", "iea_control"]
    assert stream.result.sets_with_errors == 1
    assert not stream.result.ok


def test_truncated_stream_closes_the_open_set_with_se_missing() -> None:
    text = interchange([STATUS_214, STATUS_214])
    text = text[: text.rindex("SE*")]

    stream = stream_text_chunks([text], "cut.edi")
    sets = list(stream)

    assert [ts.closed for ts in sets] == [True, False]
    assert [e.code for e in sets[1].errors] == ["se_missing"]
    assert sorted(e.code for e in stream.result.errors) == ["ge_missing", "iea_missing"]


def test_unreadable_file_streams_nothing_and_says_why(tmp_path: Path) -> None:
    stream = stream_file(tmp_path / "missing.edi")

    assert list(stream) == []
    assert stream.result.read_error is not None
    assert "missing.edi: cannot read" in stream.result.read_error
    assert stream.result.rejected


@pytest.mark.parametrize(
    "name",
    [
        "edinet_204-MGCTLYST-SAMPLE.EDI",
        "ediengine_940_MultipleInterchangesAndGroups.edi",
        "omniparser_canadapost_edi_214_19sets.txt",
    ],
)
def test_997_written_while_streaming_equals_the_997_of_the_whole_parse(
    x12_corpus: Path, name: str
) -> None:
    out = io.StringIO()

    for _ in stream_file(x12_corpus / name, listener=AckWriter(out.write, now=NOW), chunk_size=3):
        pass

    assert out.getvalue() == build_997(parse_file(x12_corpus / name), now=NOW)
    assert out.getvalue().startswith("ISA*")


def test_997_while_streaming_reports_each_set_of_a_broken_file() -> None:
    text = interchange([STATUS_214, STATUS_214, STATUS_214])
    text = text.replace("SE*8*0002~", "SE*7*0002~").replace("SE*8*0003~", "")
    out = io.StringIO()

    for _ in stream_text_chunks([text], "in.edi", listener=AckWriter(out.write, now=NOW)):
        pass

    ack = parse_bytes(out.getvalue().encode(), "ack.edi")
    assert ack.ok, [str(e) for e in ack.all_errors()]
    body = ack.transaction_sets[0].body
    assert [s for s in body if s[0] == "AK5"] == [
        ["AK5", "A"],
        ["AK5", "E", "4"],
        ["AK5", "R", "2"],
    ]
    assert ["AK9", "P", "3", "3", "2"] in body


def _many_sets(count: int) -> Iterator[str]:
    """An interchange of `count` 214s and 210s, generated piece by piece (never held whole)."""
    whole = interchange([STATUS_214, INVOICE_210])
    head, rest = whole.split("ST*", 1)
    sets = "ST*" + rest[: rest.index("GE*")]
    yield head
    for _ in range(count // 2):
        yield sets  # the same ST02s repeat: duplicates are reported, which costs nothing kept
    yield f"GE*{count}*905~IEA*1*000000905~"


def test_streaming_memory_does_not_grow_with_the_number_of_sets() -> None:
    def peak(count: int) -> int:
        tracemalloc.start()
        try:
            for _ in stream_text_chunks(_many_sets(count), "many.edi"):
                pass
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(200), peak(2000)
    tracemalloc.start()
    try:
        parse_text_chunks(_many_sets(2000), "many.edi")
        retained = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert large < small * 2
    assert large * 5 < retained


def test_text_without_terminators_stops_at_the_segment_cap_instead_of_reading_it_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from waybill.connectors.edi import tokenizer

    monkeypatch.setattr(tokenizer, "MAX_SEGMENT_LENGTH", 1000)
    text = interchange([STATUS_214])
    head = text[: text.index("ST*")]
    endless = (f"N9*XX*{'A' * 90}" for _ in range(1_000_000))  # ~97 MB, never a terminator
    chunks_read = 0

    def chunks() -> Iterator[str]:
        nonlocal chunks_read
        for chunk in [head, *endless]:
            chunks_read += 1
            yield chunk

    stream = stream_text_chunks(chunks(), "endless.edi")

    assert list(stream) == []
    assert chunks_read < 20
    codes = [e.code for e in stream.result.errors]
    assert codes[-1] == "segment_unterminated"
    assert "segment #3 has no terminator within 1,000 characters" in str(stream.result.errors[-1])


def test_long_newline_separated_text_is_split_at_line_breaks_past_the_segment_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from waybill.connectors.edi import tokenizer

    monkeypatch.setattr(tokenizer, "MAX_SEGMENT_LENGTH", 300)
    # The ISA ends with `~`, every later segment only with a line break.
    text = interchange([STATUS_214] * 20, newline="\n")
    head, rest = text.split("\n", 1)
    text = head + "\n" + rest.replace("~", "")

    stream = stream_text_chunks([text[i : i + 50] for i in range(0, len(text), 50)], "nl.edi")
    sets = list(stream)

    assert len(sets) == 20 and stream.result.ok, [str(e) for e in stream.result.errors]


def test_streaming_mutated_files_never_raises_and_agrees_with_the_whole_parse() -> None:
    import random

    rng = random.Random(20241206)
    base = interchange([STATUS_214, INVOICE_210, STATUS_214]).encode()
    for _ in range(200):
        data = bytearray(base)
        for _ in range(rng.randint(1, 10)):
            data[rng.randrange(len(data))] = rng.choice(b"~*:\n\x00ABC0123456789")
        data = data[: rng.randrange(len(data) + 1)]
        whole = parse_bytes(bytes(data), "fuzz.edi")
        text = bytes(data).decode("utf-8", "surrogateescape")

        stream = stream_text_chunks([text[i : i + 11] for i in range(0, len(text), 11)], "fuzz.edi")
        streamed = [summary(tset) for tset in stream]

        assert streamed == [summary(tset) for tset in whole.transaction_sets]
        assert [str(e) for e in stream.result.errors] == [str(e) for e in whole.errors]
