"""997 functional acknowledgments: content, envelope validity, and the outbox file."""

from __future__ import annotations

import errno
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from x12_builders import STATUS_214, interchange

from waybill.connectors.edi import (
    build_997,
    parse_bytes,
    parse_file,
    stream_text_chunks,
    write_997,
)
from waybill.connectors.edi.acknowledgment import AckFile

if TYPE_CHECKING:
    from pathlib import Path

NOW = datetime(2024, 1, 2, 3, 4, tzinfo=UTC)


def segments_of(text: str) -> list[list[str]]:
    result = parse_bytes(text.encode(), "ack.edi")
    assert result.ok, [str(e) for e in result.all_errors()]
    return [seg for ts in result.transaction_sets for seg in ts.body]


def test_997_round_trips_through_the_parser_with_a_valid_envelope() -> None:
    received = parse_bytes(interchange([STATUS_214, STATUS_214]).encode(), "in.edi")

    text = build_997(received, now=NOW)
    ack = parse_bytes(text.encode(), "ack.edi")

    assert ack.ok, [str(e) for e in ack.all_errors()]
    (tset,) = ack.transaction_sets
    assert tset.type == "997"
    isa, gs = tset.envelope
    assert (isa[6].strip(), isa[8].strip()) == ("RECEIVER", "SENDER")  # swapped
    assert (isa[9], isa[10], isa[13]) == ("240102", "0304", "000000905")
    assert (gs[1], gs[2], gs[3]) == ("FA", "RECEIVER", "SENDER")
    assert [s[0] for s in tset.body] == ["ST", "AK1", "AK2", "AK5", "AK2", "AK5", "AK9", "SE"]
    assert tset.body[1] == ["AK1", "QM", "905"]
    assert tset.body[-2] == ["AK9", "A", "2", "2", "2"]


def test_997_reports_rejected_and_erroneous_sets() -> None:
    text = interchange([STATUS_214, STATUS_214, STATUS_214])
    text = text.replace("SE*8*0002~", "SE*7*0002~")  # count off: accepted with errors
    text = text.replace("SE*8*0003~", "")  # no SE before GE: rejected
    received = parse_bytes(text.encode(), "in.edi")

    body = segments_of(build_997(received, now=NOW))

    ak5 = [s for s in body if s[0] == "AK5"]
    assert ak5 == [["AK5", "A"], ["AK5", "E", "4"], ["AK5", "R", "2"]]
    assert ["AK9", "P", "3", "3", "2"] in body


def test_997_notes_a_bad_element_with_ak3_ak4() -> None:
    data = interchange([STATUS_214]).encode().replace(b"CONSIGNEE", b"CONS\x00IGNEE")

    body = segments_of(build_997(parse_bytes(data, "in.edi"), now=NOW))

    assert ["AK3", "N1", "3", "", "8"] in body
    assert ["AK4", "2", "", "6"] in body
    assert ["AK5", "E", "5"] in body


def test_997_for_a_corpus_file_with_several_interchanges(x12_corpus: Path) -> None:
    received = parse_file(x12_corpus / "ediengine_940_MultipleInterchangesAndGroups.edi")

    ack = parse_bytes(build_997(received, now=NOW).encode(), "ack.edi")

    assert ack.ok
    assert len(ack.interchanges) == 2
    assert [ic.control for ic in ack.interchanges] == ["000003438", "000003439"]
    acked_groups = [ts.body[1][2] for ts in ack.transaction_sets]
    assert acked_groups == ["3313", "3314", "3315", "3316"]


def test_a_997_is_not_acknowledged() -> None:
    received = parse_bytes(interchange([STATUS_214]).encode(), "in.edi")
    ack = parse_bytes(build_997(received, now=NOW).encode(), "ack.edi")

    assert build_997(ack, now=NOW) == ""


def test_write_997_uses_a_deterministic_name_and_overwrites(tmp_path: Path) -> None:
    received = parse_bytes(interchange([STATUS_214]).encode(), "in.edi")
    outbox = tmp_path / "outbound"

    first = write_997(received, outbox, now=NOW)
    second = write_997(received, outbox, now=datetime(2024, 1, 3, tzinfo=UTC))

    assert first == second == outbox / "997_SENDER_000000905.edi"
    assert [p.name for p in outbox.iterdir()] == ["997_SENDER_000000905.edi"]
    assert "*240103*" in second.read_text()


def test_write_997_writes_nothing_for_a_rejected_file(tmp_path: Path) -> None:
    assert write_997(parse_bytes(b"garbage", "bad.edi"), tmp_path) is None
    assert list(tmp_path.iterdir()) == []


def test_ack_file_publishes_while_streaming_and_a_failed_write_never_stops_the_parse(
    tmp_path: Path,
) -> None:
    text = interchange([STATUS_214, STATUS_214])
    good = AckFile(tmp_path / "ok", now=NOW)
    sets = list(stream_text_chunks([text], "in.edi", listener=good.writer))
    published = good.commit()

    full = AckFile(tmp_path / "full", now=NOW)

    def disk_full(_: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    full._handle.write = disk_full  # type: ignore[method-assign]
    also = list(stream_text_chunks([text], "in.edi", listener=full.writer))
    with pytest.raises(OSError, match="No space left"):
        full.commit()

    assert len(sets) == len(also) == 2
    assert published == tmp_path / "ok" / "997_SENDER_000000905.edi"
    assert published.read_text() == build_997(parse_bytes(text.encode(), "in.edi"), now=NOW)
    assert [p.name for p in (tmp_path / "ok").iterdir()] == [published.name]
    assert list((tmp_path / "full").iterdir()) == []
