"""The pricing engine: pure functions, no database (DESIGN §3, STYLE "Pure computation").

Quotes, amendments and invoices all price through these functions, so one rule gives one number:

- `price.py`: the extended price of a quantity under each pricing model (unrounded);
- `discounts.py`: net unit price after line and quote discounts (6 decimal places);
- `periods.py`: billing periods under the anniversary, billing day and calendar rules;
- `proration.py`: exact proration factors (actual days, 30E/360) and the prorate multiplier;
- `amounts.py`: line amounts rounded once, service ranges, tax per line;
- `exact.py`: `PricingError` and the exact arithmetic underneath.
"""

from .amounts import Breakdown, PieceAmount, amount_for_piece, periods_between, service_amount, tax_for_line
from .discounts import apply_discount
from .exact import PricingError, format_fraction, fraction_to_decimal
from .periods import FREQUENCY_MONTHS, Boundary, Frequency, Period, add_months, billing_periods
from .price import (
    PriceModel,
    PriceSpec,
    Tier,
    price_for_quantity,
    spec_from_snapshot,
    spec_to_snapshot,
    validate_price_spec,
    validate_tiers,
)
from .proration import DEFAULT_TERM_MONTHS, DayCount, Factor, prorate_multiplier, proration_factor

__all__ = [
    "DEFAULT_TERM_MONTHS",
    "FREQUENCY_MONTHS",
    "Boundary",
    "Breakdown",
    "DayCount",
    "Factor",
    "Frequency",
    "Period",
    "PieceAmount",
    "PriceModel",
    "PriceSpec",
    "PricingError",
    "Tier",
    "add_months",
    "amount_for_piece",
    "apply_discount",
    "billing_periods",
    "format_fraction",
    "fraction_to_decimal",
    "periods_between",
    "price_for_quantity",
    "prorate_multiplier",
    "proration_factor",
    "service_amount",
    "spec_from_snapshot",
    "spec_to_snapshot",
    "tax_for_line",
    "validate_price_spec",
    "validate_tiers",
]
