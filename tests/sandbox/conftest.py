"""Shared fixtures: a small world, its truth, and a sandbox served over real HTTP on loopback."""

from __future__ import annotations

import pytest

from tests.sandbox.helpers import SEED, SHIPMENTS, truth_of
from waybill_sandbox.server import running_sandbox
from waybill_sandbox.world import World


@pytest.fixture(scope="session")
def world() -> World:
    return World(SEED, SHIPMENTS)


@pytest.fixture(scope="session")
def truth() -> dict:
    return truth_of(SEED, SHIPMENTS)


@pytest.fixture(scope="session")
def sandbox_url() -> str:
    with running_sandbox(seed=SEED, shipments=SHIPMENTS) as base_url:
        yield base_url
