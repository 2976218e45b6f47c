"""Hostile strings against the real loader: each lands or is dead-lettered with a reason; no SQL error."""

from __future__ import annotations

from waybill.load.copy import load_batch
from waybill.load.records import DeadLetter, Record

LANDS = {
    "quotes": {"name": "O'Brien \"Big\" ''"},
    "backslashes": {"path": "C:\\new\\table\\\\x00 \\N \\."},
    "drop_table": {"note": "'; drop table raw.erp__orders; --"},
    "copy_specials": {"text": "tab\there\nnewline\r\\.\n\\N"},
    "megabyte": {"blob": "x" * 1_000_000},
    "unicode": {"name": "Zürich ☃ 𝄞 \u200b"},
}
DEAD = {
    "nul_in_value": ({"name": "bad\x00byte"}, "NUL", "$.name"),
    "non_utf8": ({"name": b"caf\xe9".decode("utf-8", "surrogateescape")}, "UTF-8", None),
    "not_json_text": ('{"cut": ', "not valid JSON", None),
}


def test_hostile_payloads_land_or_dead_letter(conn, own_source):
    items = [Record(name, payload, f"test {name}") for name, payload in LANDS.items()]
    items += [Record(name, payload, f"test {name}") for name, (payload, _, _) in DEAD.items()]
    items.append(Record("nul\x00key", {"ok": True}, "test nul key"))
    items.append(DeadLetter("test connector", "connector said no \x00 '; drop", "f", "\x00raw"))

    result = load_batch(conn, own_source, "hostile", items)

    assert (result.read, result.landed, result.dead_lettered) == (11, len(LANDS), 5)
    landed = dict(
        conn.execute(f'select natural_key, payload from raw."{own_source}__hostile"').fetchall()
    )
    assert landed == LANDS
    reasons = dict(
        conn.execute(
            "select record_location, reason from ops.dead_letters where source = %s",
            (own_source,),
        ).fetchall()
    )
    for name, (_, words, _) in DEAD.items():
        assert words in reasons[f"test {name}"]
    assert "NUL" in reasons["test nul key"]
    field = conn.execute(
        "select field from ops.dead_letters where source = %s and record_location = %s",
        (own_source, "test nul_in_value"),
    ).fetchone()[0]
    assert field == "$.name"


def test_reloading_the_same_hostile_batch_adds_nothing(conn, own_source):
    items = [Record(name, payload, f"test {name}") for name, payload in LANDS.items()]
    items += [Record(name, payload, f"test {name}") for name, (payload, _, _) in DEAD.items()]
    load_batch(conn, own_source, "hostile", items)

    again = load_batch(conn, own_source, "hostile", items)

    assert (again.landed, again.duplicate, again.dead_lettered) == (0, len(LANDS), len(DEAD))
    dead = conn.execute(
        "select count(*) from ops.dead_letters where source = %s", (own_source,)
    ).fetchone()[0]
    assert dead == len(DEAD)
