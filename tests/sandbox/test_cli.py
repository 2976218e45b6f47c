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
