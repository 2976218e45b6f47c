"""Shared fixtures: the public corpus of real carrier files (skipped when absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[3] / ".." / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The corpus folder (``<repo>/../shared/corpus``); skips the test when it is not there."""
    if not CORPUS.is_dir():
        pytest.skip(f"corpus folder {CORPUS} is absent: real-world samples not available here")
    return CORPUS
