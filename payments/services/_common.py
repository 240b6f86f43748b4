"""Helpers shared by the payments services: validation of amounts and the lock order."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils.translation import gettext as _

from billing_site.errors import ValidationFailed
from billing_site.limits import amount_error
from billing_site.money import minor_units, round_money, to_decimal
from invoicing.models import Invoice


def clean_amount(value, currency: str, *, field: str = "amount", allow_zero: bool = False) -> Decimal:
    """A positive amount with no more decimals than the currency has (never silently rounded)."""
    try:
        amount = to_decimal(value)
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise ValidationFailed(fields={field: _("Enter an amount.")}) from exc
    if not amount.is_finite():
        raise ValidationFailed(fields={field: _("Enter an amount.")})
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationFailed(fields={field: _("The amount must be greater than zero.")})
    if error := amount_error(amount):
        raise ValidationFailed(fields={field: error})
    if round_money(amount, currency) != amount:
        raise ValidationFailed(
            fields={field: _("%(currency)s amounts have at most %(places)s decimals.") % {"currency": currency, "places": minor_units(currency)}}
        )
    return round_money(amount, currency)


def clean_currency(value: str) -> str:
    if value not in settings.CURRENCIES:
        raise ValidationFailed(fields={"currency": _("“%(value)s” is not a supported currency.") % {"value": value}})
    return value


def lock_invoices(ids) -> list[Invoice]:
    """Lock invoice rows in id order: every payments service locks invoices first, then the payment
    or credit note, so two allocations touching the same rows never deadlock."""
    rows = list(Invoice.objects.select_for_update().filter(pk__in=sorted(set(ids))).order_by("pk"))
    return rows


def actor_label(actor, default: str = "") -> str:
    if getattr(actor, "is_authenticated", False):
        return actor.get_username()
    return default or "system"
