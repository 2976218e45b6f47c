"""include/crm_mapping.yaml is the only place statuses and exceptions meet CRM fields."""

from __future__ import annotations

import pytest
import yaml

from waybill.crm.mapping import EXCEPTIONS, MAPPING_FILE, STATUSES, MappingError, load_mapping


def test_the_shipped_mapping_covers_every_status_and_exception():
    mapping = load_mapping()
    assert set(mapping.statuses) == set(STATUSES)
    assert set(mapping.cases) == set(EXCEPTIONS)
    assert mapping.cases["missing_pod"].type == "Missing POD"
    assert mapping.missing_pod_after_hours == 48


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda spec: spec["exceptions"].pop("dispute"), "exceptions.dispute"),
        (lambda spec: spec["exceptions"]["delay"].pop("sla_hours"), "exceptions.delay.sla_hours"),
        (lambda spec: spec["exceptions"]["loss"].update(sla_hours="soon"), "loss.sla_hours"),
        (lambda spec: spec["statuses"].pop("lost"), "statuses.lost"),
        (lambda spec: spec["statuses"].update(teleported={"status": "X"}), "teleported"),
    ],
)
def test_a_broken_mapping_names_its_key(tmp_path, edit, named):
    spec = yaml.safe_load(MAPPING_FILE.read_text())
    edit(spec)
    path = tmp_path / "crm_mapping.yaml"
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(MappingError) as raised:
        load_mapping(path)
    assert named in str(raised.value)


def test_a_mapping_change_changes_what_is_sent_without_code(tmp_path):
    from datetime import UTC, datetime

    from waybill.crm.desired import exceptions_of

    spec = yaml.safe_load(MAPPING_FILE.read_text())
    spec["missing_pod_after_hours"] = 2
    spec["exceptions"]["missing_pod"]["type"] = "POD Chase"
    path = tmp_path / "crm_mapping.yaml"
    path.write_text(yaml.safe_dump(spec))
    mapping = load_mapping(path)
    row = {
        "delivered_at": datetime(2025, 1, 2, tzinfo=UTC),
        "promised_delivery_at": datetime(2025, 1, 3, tzinfo=UTC),
        "shipped_at": datetime(2025, 1, 1, tzinfo=UTC),
        "is_lost": False,
        "has_damage": False,
        "hold_reasons": ["missing_pod"],
        "damaged_at": None,
        "lost_at": None,
        "dispute_id": None,
    }
    now = datetime(2025, 1, 2, 3, tzinfo=UTC)
    assert set(exceptions_of(row, now, mapping.missing_pod_after_hours)) == {"missing_pod"}
    assert mapping.cases["missing_pod"].type == "POD Chase"
