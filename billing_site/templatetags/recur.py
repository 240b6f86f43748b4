"""Template helpers: money and numbers per locale, service periods, query-string building."""

import datetime as dt

from django import template
from django.utils import formats, translation
from django.utils.http import urlencode

from billing_site import money

register = template.Library()


@register.filter
def moneyfmt(amount, currency="EUR"):
    """{{ amount|moneyfmt:currency }} → '€1,234.56' (en) or '1 234,56 €' (fr)."""
    if amount is None or amount == "":
        return ""
    if hasattr(amount, "amount") and hasattr(amount, "currency"):
        return money.format_money(amount.amount, str(amount.currency), translation.get_language())
    return money.format_money(amount, str(currency), translation.get_language())


@register.filter
def numfmt(value, places=None):
    """A quantity or unit price per locale, keeping every significant decimal (up to six)."""
    if value is None or value == "":
        return ""
    if places in (None, ""):
        value = money.round_unit(value).normalize()
        exponent = value.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return money.format_number(value, translation.get_language(), int(places))


@register.filter
def unitprice(amount, currency="EUR"):
    """A unit price per locale with the currency's decimals, or up to 6 when it has them: '€0.0025'
    per API call, '€49.00' per seat. Only trailing zeros are dropped: this is display, not rounding."""
    if amount is None or amount == "":
        return ""
    if hasattr(amount, "amount") and hasattr(amount, "currency"):
        amount, currency = amount.amount, str(amount.currency)
    return money.format_unit_price(amount, str(currency), translation.get_language())


LONG_DATE_FORMATS = {"en": "F j, Y", "fr": "j F Y"}


@register.filter
def longdate(value):
    """A date written out for letters and emails ("May 31, 2026", "31 mai 2026"); pages use the
    one short format per language."""
    if not isinstance(value, dt.date):
        return ""
    language = (translation.get_language() or "en")[:2]
    return formats.date_format(value, LONG_DATE_FORMATS.get(language, LONG_DATE_FORMATS["en"]))


@register.filter
def lastday(end):
    """Service periods are half-open: show the inclusive last day."""
    if isinstance(end, dt.date):
        return formats.date_format(end - dt.timedelta(days=1), "SHORT_DATE_FORMAT")
    return ""


@register.simple_tag(takes_context=True)
def query(context, **kwargs):
    """Current query string with some keys replaced: {% query page=2 %}."""
    params = context["request"].GET.copy()
    for key, value in kwargs.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + urlencode(sorted(params.lists()), doseq=True) if params else "?"


@register.simple_tag(takes_context=True)
def sort_link(context, field, label):
    """A column header that sorts by `field`, toggling direction."""
    request = context["request"]
    current = request.GET.get("sort", "")
    direction = ""
    if current == field:
        new, direction = f"-{field}", "▲"
    elif current == f"-{field}":
        new, direction = field, "▼"
    else:
        new = field
    params = request.GET.copy()
    params["sort"] = new
    params.pop("page", None)
    from django.utils.html import format_html

    return format_html('<a href="?{}" class="sort">{} {}</a>', params.urlencode(), label, direction)


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def activity_action(row):
    """An audit row's event, labelled and translated."""
    from billing_site.audit import action_label

    return action_label(row.action)


@register.filter
def activity_who(row):
    from billing_site.audit import actor_name

    return actor_name(row)


@register.filter
def activity_note(row):
    from billing_site.audit import note_text

    return note_text(row)


@register.filter
def activity_from(row):
    from billing_site.audit import state_label

    return state_label(row, row.from_state)


@register.filter
def activity_to(row):
    from billing_site.audit import state_label

    return state_label(row, row.to_state)


@register.simple_tag
def page_numbers(page):
    """Page numbers to link, with None for a gap: 1 … 4 5 [6] 7 8 … 20."""
    return [None if n == page.paginator.ELLIPSIS else n
            for n in page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1)]


@register.simple_tag(takes_context=True)
def query_fields(context, *skip):
    """Hidden inputs repeating the current query string (less `skip` keys), for a GET form."""
    from django.utils.html import format_html_join

    params = context["request"].GET
    return format_html_join("", '<input type="hidden" name="{}" value="{}">',
                            ((k, v) for k in params if k not in skip for v in params.getlist(k)))
