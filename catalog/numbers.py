"""Decimals as people write them: stored values keep 6 places, messages and forms show '11', not '11.000000'."""

from decimal import Decimal


def plain(value: Decimal | None) -> Decimal | None:
    """The same value without trailing zeros and never in exponent form ('1E+2' → 100)."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def plain_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{plain(value):f}"
