"""X12 numeric data types (Nn implied decimals, R explicit decimal) read as Decimal, never float."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

_CENTS = Decimal("0.01")
_IMPLIED = re.compile(r"[+-]?\d+")
_EXPLICIT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)")


class NumberError(ValueError):
    """A value that is not a valid X12 number of the expected type."""


def parse_implied(value: str, decimals: int = 2) -> Decimal:
    """Read an X12 `Nn` value (`65940` with N2 is 659.40); an explicit point is tolerated.

    Real senders sometimes put a decimal point into an N2 field; it then means what it says.
    Raises NumberError when the value is empty or not a number.
    """
    text = value.strip()
    if _IMPLIED.fullmatch(text):
        return Decimal(text).scaleb(-decimals)
    if _EXPLICIT.fullmatch(text):
        return Decimal(text)
    raise NumberError(f"{value!r} is not an N{decimals} number")


def parse_real(value: str) -> Decimal:
    """Read an X12 `R` value (explicit decimal point, optional sign). Raises NumberError."""
    text = value.strip()
    if _EXPLICIT.fullmatch(text):
        return Decimal(text)
    raise NumberError(f"{value!r} is not an R (decimal) number")


def money(amount: Decimal) -> str:
    """Format an amount with exactly two decimals (`659.4` -> `"659.40"`)."""
    return str(amount.quantize(_CENTS, rounding=ROUND_HALF_UP))
