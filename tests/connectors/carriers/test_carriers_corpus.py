"""Every real carrier file in the corpus through ``waybill carriers normalize``, counted apart.

The expected counts come from a plain walk of each JSON document written here from the
formats' documentation (what is an event, what is a carrier error), not from the normalisers.
A corpus file this test does not know fails it, so a new sample cannot slip through unchecked.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import pytest

from waybill.commands.carriers import main

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def _ups(doc: dict[str, Any]) -> tuple[int, int]:
    # UPS documents dates as YYYYMMDD: a record with another date (the schema sample's
    # placeholder "string") is an error, every other activity and deliveryDate an event.
    events = errors = 0
    for shipment in doc["trackResponse"]["shipment"]:
        packages = shipment.get("package") or []
        errors += 0 if packages else len(shipment.get("warnings") or [])
        for package in packages:
            for record in (package.get("activity") or []) + (package.get("deliveryDate") or []):
                valid = len(str(record.get("date"))) == 8 and str(record.get("date")).isdigit()
                events += 1 if valid else 0
                errors += 0 if valid else 1
    return events, errors


def _fedex(doc: dict[str, Any]) -> tuple[int, int]:
    events = errors = 0
    for entry in doc["output"]["completeTrackResults"]:
        for result in entry.get("trackResults") or []:
            errors += 1 if result.get("error") else 0
            scans = result.get("scanEvents") or []
            events += len(scans) + len(result.get("dateAndTimes") or [])
            window = (result.get("estimatedDeliveryTimeWindow") or {}).get("window") or {}
            events += 1 if window.get("ends") or window.get("begins") else 0
            latest = result.get("latestStatusDetail") or {}
            events += 1 if not scans and (latest.get("code") or latest.get("derivedCode")) else 0
    return events, errors


def _easypost(doc: dict[str, Any]) -> tuple[int, int]:
    tracker = doc["result"] if doc.get("object") == "Event" else doc
    estimate = 1 if tracker.get("est_delivery_date") else 0
    return len(tracker["tracking_details"]) + estimate, 0


def _dcsa(doc: Any) -> tuple[int, int]:
    if isinstance(doc, dict) and "events" in doc:
        return len(doc["events"]), 0
    return (len(doc) if isinstance(doc, list) else 1), 0


def _format_of(name: str) -> tuple[str, Callable[[Any], tuple[int, int]]]:
    if name.startswith("ups__"):
        return "ups", _ups
    if name.startswith("fedex__"):
        return "fedex", _fedex
    if name.startswith(("fixtures__event-body", "trackers__")):
        return "easypost", _easypost
    if name.startswith("tnt_"):
        return "dcsa", _dcsa
    raise AssertionError(f"corpus file {name} has no known format: add it to this test")


def _files(corpus: Path) -> list[Path]:
    files = sorted((corpus / "carriers").glob("*.json"))
    files += sorted((corpus / "dcsa" / "examples_extracted").glob("*.json"))
    assert len(files) >= 14, "the carrier and DCSA samples should be in the corpus"
    return files


def test_every_corpus_file_normalises_with_its_events_counted_apart(corpus: Path) -> None:
    report: dict[str, tuple[int, int]] = {}
    for path in _files(corpus):
        fmt, count = _format_of(path.name)
        doc = json.loads(path.read_text(encoding="utf-8"))
        expected_events, expected_errors = count(doc)
        out, err = io.StringIO(), io.StringIO()
        status = main(fmt, [str(path)], stdout=out, stderr=err)
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        problems = err.getvalue().splitlines()
        assert len(lines) == expected_events, path.name
        assert len(problems) == expected_errors, (path.name, problems)
        assert all(line.startswith(f"{path}: $") for line in problems)
        assert status == (1 if problems else 0), path.name
        assert all(line["file"] == str(path) for line in lines)
        assert all(line["event_id"] and line["source_format"] == fmt for line in lines)
        assert all(line["source_channel"] == "api" for line in lines)
        report[path.name] = (len(lines), len(problems))
    assert sum(events for events, _ in report.values()) > 0


@pytest.mark.parametrize(
    "fmt", ["ups", "fedex", "dcsa", "easypost", "usps", "dhl", "shippo", "aftership"]
)
def test_another_carriers_corpus_file_is_rejected_naming_the_file(corpus: Path, fmt: str) -> None:
    others = [path for path in _files(corpus) if _format_of(path.name)[0] != fmt]
    out, err = io.StringIO(), io.StringIO()
    status = main(fmt, [str(path) for path in others], stdout=out, stderr=err)
    assert (status, out.getvalue()) == (2, "")
    lines = err.getvalue().splitlines()
    assert [line.split(": ", 1)[0] for line in lines] == [str(path) for path in others]
    assert all(": not " in line for line in lines)
