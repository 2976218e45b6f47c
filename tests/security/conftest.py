"""The hostile-input suite's tally: each area records what it tried, and the session prints the figures.

A test calls ``hostile("webhooks").tried(n)`` for the inputs it threw, ``.crashed(n)`` for answers
that were a crash (a 5xx, an uncaught exception, a batch that failed) and ``.wrong(n)`` for rows
stored that must not have been (a replay stored twice, an unsigned body stored, ``inf`` stored as
null). The tests assert crashes and wrong rows are 0; the summary shows the figures per area.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass
class Tally:
    """Counts for one area of the hostile-input suite."""

    inputs: int = 0
    crashes: int = 0
    wrong_rows: int = 0

    def tried(self, n: int = 1) -> None:
        """Count ``n`` hostile inputs thrown at the system."""
        self.inputs += n

    def crashed(self, n: int = 1) -> None:
        """Count ``n`` crashes (5xx, uncaught exception, failed batch)."""
        self.crashes += n

    def wrong(self, n: int = 1) -> None:
        """Count ``n`` rows stored that must not have been."""
        self.wrong_rows += n


TALLIES: dict[str, Tally] = {}


@pytest.fixture
def hostile():
    """Return ``hostile(area) -> Tally``, the session-wide counts of that area."""
    return lambda area: TALLIES.setdefault(area, Tally())


def pytest_terminal_summary(terminalreporter) -> None:
    """Print, per area, the hostile inputs tried, the crashes and the wrong rows stored."""
    if not TALLIES:
        return
    terminalreporter.section("hostile-input suite (tests/security)")
    for area, tally in sorted(TALLIES.items()):
        terminalreporter.write_line(
            f"{area:<22} inputs tried {tally.inputs:>6}   crashes {tally.crashes}"
            f"   wrong rows stored {tally.wrong_rows}"
        )
    total = Tally(
        sum(t.inputs for t in TALLIES.values()),
        sum(t.crashes for t in TALLIES.values()),
        sum(t.wrong_rows for t in TALLIES.values()),
    )
    terminalreporter.write_line(
        f"{'total':<22} inputs tried {total.inputs:>6}   crashes {total.crashes}"
        f"   wrong rows stored {total.wrong_rows}"
    )
