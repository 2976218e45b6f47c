"""
## backfill_source

Re-ingests the records of one source entity updated in a closed interval of UTC days.
Trigger it from the Airflow UI (or `airflow dags trigger backfill_source --conf ...`) with
params `source`, `entity`, `from`, `to` (e.g. `erp`, `orders`, `2026-03-01`, `2026-03-07`).
The same as `waybill backfill --source erp --entity orders --from 2026-03-01 --to 2026-03-07`.

Idempotent: records already in raw are counted as duplicates and land no second row; the
entity's watermark is left where it was. The task emits the raw Assets, so `transform_warehouse`
rebuilds what reads them; `post_billing` follows and posts no invoice twice. Entities without an
`updated_since` watermark (file drops, page-token feeds) fail with the reason.
"""

from waybill.orchestration.backfill_dag import build_backfill_dag

dag = build_backfill_dag(doc_md=__doc__)
