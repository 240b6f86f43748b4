"""Template helpers of the payments pages."""

from django import template

from billing_site.money import round_money

register = template.Library()


@register.filter
def plain(amount, currency="EUR"):
    """An amount for a form field: rounded to the currency, dot decimal, no grouping (what the form parses)."""
    if amount is None or amount == "":
        return ""
    return str(round_money(amount, str(currency)))


@register.filter
def smaller(a, b):
    """The smaller of two amounts."""
    return a if a < b else b


@register.filter
def absval(value):
    return abs(value)
