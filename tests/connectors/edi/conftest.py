"""Fixtures for the X12 tests: the public corpus (skipped when absent)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from x12_builders import X12_CORPUS

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture(scope="session")
def x12_corpus() -> Path:
    """The corpus's x12 folder (``<repo>/../shared/corpus/x12``); skips when it is not there."""
    if not X12_CORPUS.is_dir():
        pytest.skip(f"corpus folder {X12_CORPUS} is absent: real-world X12 samples not available")
    return X12_CORPUS
