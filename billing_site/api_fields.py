"""How decimals leave the API (DESIGN §3 "Money"): one serializer field for every model DecimalField.

- Money (`amount`, `*_amount`, `*_total`, `mrr`, `arr`, `total_contract_value`, `tax_estimate`, journal
  `debit`/`credit`) is a
  string at the currency's minor unit, the currency read from the object (or the document it
  belongs to): EUR "250.00", JPY "250", KWD "250.000".
- Everything else (unit prices, quantities, tier bounds, percents) keeps its significant decimals
  and drops trailing zeros: "93.333333", "2.5", "250".

Input is unchanged: any decimal string up to the column's precision is accepted.
"""

from decimal import Decimal

from rest_framework import serializers

from billing_site.money import round_money

MONEY_NAMES = frozenset({"amount", "mrr", "arr", "total_contract_value", "tax_estimate", "debit", "credit"})
# Where a line finds its currency when it has none of its own.
CURRENCY_PARENTS = ("invoice", "credit_note", "quote", "order", "contract", "subscription", "payment", "price_book", "entry")


def is_money_name(name: str) -> bool:
    return name in MONEY_NAMES or name.endswith("_amount") or name.endswith("_total")


def currency_of(instance) -> str | None:
    currency = getattr(instance, "currency", None)
    if isinstance(currency, str) and currency:
        return currency
    for parent in CURRENCY_PARENTS:
        related = getattr(instance, parent, None)
        currency = getattr(related, "currency", None) if related is not None else None
        if isinstance(currency, str) and currency:
            return currency
    return None


def plain_decimal(value: Decimal) -> str:
    """A decimal without trailing zeros and never in exponent form: 250.000000 → "250", 2.50 → "2.5"."""
    value = value.normalize()
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1)))
    return format(value, "f")


class DecimalValueField(serializers.DecimalField):
    """A model DecimalField in the API: money at the currency's precision, other numbers as significant digits."""

    @property
    def is_money(self) -> bool:
        return is_money_name(self.field_name or "") or is_money_name((self.source or "").split(".")[-1])

    def get_attribute(self, instance):
        value = super().get_attribute(instance)
        if value is None or not self.is_money:
            return value
        return (value, currency_of(instance))

    def to_representation(self, value):
        if isinstance(value, tuple):
            amount, currency = value
            amount = getattr(amount, "amount", amount)
            if currency:
                return str(round_money(amount, currency))
            value = amount
        value = getattr(value, "amount", value)  # djmoney's Money
        return plain_decimal(Decimal(value))
