"""SIGKILL the loader mid-batch, rerun: nothing lost, nothing duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

RECORDS = 20_000
BATCH = 5_000

LOADER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from waybill import warehouse
    from waybill.load.copy import load_batch
    from waybill.load.records import Record

    source, marker, records, batch = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

    def items(start):
        for i in range(start, min(start + batch, records)):
            if i == batch + batch // 2:  # halfway through the second batch: signal, then stall
                marker.write_text("mid-batch")
                time.sleep(60)
            yield Record(f"K{i:06d}", {"n": i, "text": "payload"}, f"item {i}")

    with warehouse.connect() as conn:
        for start in range(0, records, batch):
            load_batch(conn, source, "killed", items(start), watermark=str(start + batch))
    """
)


def test_sigkill_mid_batch_then_rerun_loses_and_duplicates_nothing(conn, own_source, tmp_path):
    marker = tmp_path / "marker"
    process = subprocess.Popen(
        [sys.executable, "-c", LOADER, own_source, str(marker), str(RECORDS), str(BATCH)],
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the loader never reached the middle of its second batch"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    table = f'raw."{own_source}__killed"'
    assert conn.execute(f"select count(*) from {table}").fetchone()[0] == BATCH
    watermark = conn.execute(
        "select cursor_value from ops.watermarks where source = %s", (own_source,)
    ).fetchone()[0]
    assert watermark == str(BATCH)
    conn.commit()

    # Rerun from the start (a rerun with no watermark re-reads everything).
    rerun = subprocess.run(
        [
            sys.executable,
            "-c",
            LOADER.replace("time.sleep(60)", "pass"),
            own_source,
            str(tmp_path / "again"),
            str(RECORDS),
            str(BATCH),
        ],
        env=os.environ.copy(),
        check=True,
    )
    assert rerun.returncode == 0
    total, distinct = conn.execute(
        f"select count(*), count(distinct natural_key) from {table}"
    ).fetchone()
    assert (total, distinct) == (RECORDS, RECORDS)
    statuses = conn.execute(
        "select status, count(*) from ops.load_batches where source = %s group by status",
        (own_source,),
    ).fetchall()
    assert statuses == [("succeeded", RECORDS // BATCH + 1)]
