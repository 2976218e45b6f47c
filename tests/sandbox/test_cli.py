"""The ``sandbox`` CLI: registered on argparse, runnable as a module, clear errors."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from waybill_sandbox.cli import register


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "waybill_sandbox.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_register_adds_sandbox_subcommands_with_func():
    parser = argparse.ArgumentParser(prog="waybill")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["sandbox", "truth", "--seed", "3", "--shipments", "9"])
    assert callable(args.func) and (args.seed, args.shipments) == (3, 9)
    args = parser.parse_args(
        ["sandbox", "serve", "--port", "0", "--faults", "erp=0.1", "--inbound", "x"]
    )
    assert (args.port, args.faults, args.inbound) == (0, "erp=0.1", "x")


def test_truth_and_generate_from_the_command_line(tmp_path):
    truth = _run("sandbox", "truth", "--seed", "3", "--shipments", "12")
    assert truth.returncode == 0, truth.stderr
    parsed = json.loads(truth.stdout)
    assert len(parsed["shipments"]) == 12 and "carriers" in parsed
    generated = _run(
        "sandbox", "generate", "--seed", "3", "--shipments", "12", "--out", str(tmp_path)
    )
    assert generated.returncode == 0, generated.stderr
    assert (tmp_path / "manifest.json").is_file()


def test_bad_options_exit_2_with_a_clear_message():
    result = _run("sandbox", "truth", "--shipments", "5", "--faults", "erp=3")
    assert result.returncode == 2
    assert "rate 3.0 outside 0..1" in result.stderr


def test_truth_with_changes_and_a_clock_from_the_command_line():
    result = _run(
        "sandbox",
        "truth",
        "--seed",
        "3",
        "--shipments",
        "60",
        "--changes",
        "0.5",
        "--clock",
        "START",
        "--tick-hours",
        "12",
    )
    assert result.returncode == 0, result.stderr
    parsed = json.loads(result.stdout)
    assert parsed["changes"] == 0.5 and parsed["oracle"]["tick_hours"] == 12
    assert any(s["changes"] for s in parsed["shipments"])
    for s in parsed["shipments"]:
        assert {"net_billable_amount", "expected_documents", "amendment_policy"} <= set(s)
    default = json.loads(_run("sandbox", "truth", "--seed", "3", "--shipments", "60").stdout)
    assert default["changes"] == 0.08
    bad = _run("sandbox", "truth", "--shipments", "5", "--clock", "1999-01-01T00:00:00Z")
    assert bad.returncode == 2 and "outside the world's window" in bad.stderr


def test_advance_moves_a_running_sandbox_clock(monkeypatch):
    from waybill_sandbox.server import running_sandbox
    from waybill_sandbox.timefmt import iso_utc
    from waybill_sandbox.world import World

    world = World(3, 30)
    with running_sandbox(seed=3, shipments=30, clock="START", erp_token="cli-token") as base:
        monkeypatch.setenv("WAYBILL_SANDBOX_ERP_TOKEN", "cli-token")
        result = _run("sandbox", "advance", "--hours", "6", "--url", base)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["clock"] == iso_utc(world.start_epoch + 6 * 3600)
        denied = _run("sandbox", "advance", "--hours", "1", "--url", base, "--token", "nope")
        assert denied.returncode == 2 and "401" in denied.stderr
