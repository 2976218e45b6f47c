"""Per-shipment tracking details from a carrier's Track API, for the numbers its event feed named.

Event feeds say what happened; only the Track API's per-package answer says that a proof of
delivery exists (UPS ``deliveryInformation``, FedEx ``deliveryDetails``). This connector asks
for exactly the tracking numbers that still need it: those seen in the carrier's landed events
whose landed details show no POD yet. Two request styles, by the carrier's API format:

- ``ups``: ``GET <path>/{number}`` — one number per call; items at ``trackResponse.shipment[].package[]``
- ``fedex``: ``POST <path>`` with up to 30 numbers — items at ``output.completeTrackResults[].trackResults[]``

A number the carrier does not know yet (UPS 404, FedEx per-number error) lands nothing and is
asked again next run. Adding a carrier on either API is a block in ``sources.yaml``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from psycopg import sql

from waybill.connectors.rest import records_from_items
from waybill.load.schema import raw_table_name

if TYPE_CHECKING:
    from collections.abc import Iterator

    import psycopg

    from waybill.connectors.http import HttpClient
    from waybill.load.records import DeadLetter, Record
    from waybill.sources import EntityConfig

FORMATS = ("ups", "fedex")
FEDEX_MAX_NUMBERS = 30


def pending_numbers(conn: psycopg.Connection, source: str, entity: EntityConfig) -> list[str]:
    """Tracking numbers in ``raw.<source>__<keys_from>`` without a settled POD in this entity's
    table.

    Reads the ``keys_from`` entity's payload field ``key_field`` and this entity's landed
    payloads' ``done_field``; a missing table counts as empty. A POD is settled once its number's
    newest landed version carries it and it first landed more than ``recheck_hours`` ago (option,
    default 0): carriers reverse PODs, and a reversal shows only to a client that asks again.
    """
    options = entity.options
    events = raw_table_name(source, options["keys_from"])
    details = raw_table_name(source, entity.name)
    existing = {
        name
        for (name,) in conn.execute(
            "select table_name from information_schema.tables"
            " where table_schema = 'raw' and table_name = any(%s)",
            ([events, details],),
        )
    }
    if events not in existing:
        return []
    query = sql.SQL(
        "select distinct payload ->> {field} as number from {events}"
        " where payload ->> {field} is not null"
    ).format(field=sql.Literal(options["key_field"]), events=sql.Identifier("raw", events))
    if details in existing:
        query = sql.SQL(
            "{query} except select natural_key from ("
            " select distinct on (natural_key) natural_key, payload,"
            " min(loaded_at) filter (where payload ? {done})"
            " over (partition by natural_key) as pod_landed_at"
            " from {details} order by natural_key, loaded_at desc, raw_id desc"
            ") as newest"
            " where payload ? {done}"
            " and pod_landed_at < now() - make_interval(hours => {recheck})"
        ).format(
            query=query,
            details=sql.Identifier("raw", details),
            done=sql.Literal(options["done_field"]),
            recheck=sql.Literal(int(options.get("recheck_hours", 0))),
        )
    return sorted(number for (number,) in conn.execute(sql.SQL("{q} order by 1").format(q=query)))


def iter_detail_records(
    client: HttpClient, entity: EntityConfig, numbers: list[str]
) -> Iterator[Record | DeadLetter]:
    """Ask the Track API about ``numbers`` and yield one Record per package/track result.

    Raises ``ValueError`` for an unknown ``format``; HTTP errors other than the documented
    not-found answers propagate (the task fails naming the source and URL).
    """
    fmt = entity.options.get("format")
    if fmt == "ups":
        for number in numbers:
            response = client.request("GET", f"{entity.path.rstrip('/')}/{number}")
            if response.status_code == 404:
                continue
            response.raise_for_status()
            packages = [
                package
                for shipment in response.json().get("trackResponse", {}).get("shipment", [])
                for package in shipment.get("package", [])
            ]
            yield from _records(packages, entity, f"{client.source} GET {entity.path}/{number}")
    elif fmt == "fedex":
        for start in range(0, len(numbers), FEDEX_MAX_NUMBERS):
            batch = numbers[start : start + FEDEX_MAX_NUMBERS]
            body = {
                "includeDetailedScans": True,
                "trackingInfo": [{"trackingNumberInfo": {"trackingNumber": n}} for n in batch],
            }
            response = client.request("POST", entity.path, json=body)
            response.raise_for_status()
            results = [
                result
                for complete in response.json().get("output", {}).get("completeTrackResults", [])
                for result in complete.get("trackResults", [])
                if not result.get("error")
            ]
            where = f"{client.source} POST {entity.path} numbers {start}..{start + len(batch) - 1}"
            yield from _records(results, entity, where)
    else:
        raise ValueError(f"{client.source}/{entity.name}: format {fmt!r} is not one of {FORMATS}")


def _records(items: list[Any], entity: EntityConfig, where: str) -> list[Record | DeadLetter]:
    records, _ = records_from_items(items, entity, where)
    return records
