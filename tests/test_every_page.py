"""Every URL of the project renders on the demo data, with real ids, as Finance and as Sales.

The demo is seeded once for the module (inside one transaction rolled back at the end). Each URL
pattern is reversed with ids taken from the database: the kind of row an id names comes from the
route's name through `IDS` below (first match wins), or, for a DRF viewset, from its queryset.
A route whose ids cannot be found fails with a message saying what to add, so a new app's pages
(accounting/, imports/, webhooks/, …) are opened as soon as its urls are included.

A page fails on any 5xx, any exception raised while rendering, and any template variable that does
not resolve (templates render with `string_if_invalid` set to a marker the test looks for).
"""

import copy
import datetime as dt
import fnmatch
import re
from collections.abc import Callable

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.urls import NoReverseMatch, reverse
from django.views.static import serve

from billing_site.roles import Role
from conftest import make_user
from tests.test_role_matrix import iter_patterns

TODAY = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
INVALID = "@@INVALID-TEMPLATE-VARIABLE[%s]@@"
MARKER = re.compile(r"@@INVALID-TEMPLATE-VARIABLE\[([^\]]*)\]@@")
# Variables a template may leave unresolved on purpose: a query parameter the request did not carry.
OPTIONAL_PREFIXES = ("request.GET.",)

# Each test runs in a savepoint inside the module's transaction that holds the demo data.
pytestmark = pytest.mark.django_db


def rows(label: str, *, vary: str | None = None, **filters) -> Callable[[], list[dict]]:
    """Ids of `label` rows as {"pk": id}; with `vary`, one row per distinct value of that field."""

    def find():
        qs = apps.get_model(label).objects.filter(**filters).order_by("pk")
        if not vary:
            row = qs.first()
            return [{"pk": row.pk}] if row else []
        seen = {}
        for pk, value in qs.values_list("pk", vary):
            seen.setdefault(value, pk)
        return [{"pk": pk} for pk in seen.values()]

    return find


def children(label: str, parent: str, kwarg: str, **filters) -> Callable[[], list[dict]]:
    """A child row's id under `kwarg` with its parent's id under "pk" (`/<pk>/lines/<line_pk>/`)."""

    def find():
        row = apps.get_model(label).objects.filter(**filters).order_by("pk").first()
        return [{"pk": getattr(row, f"{parent}_id"), kwarg: row.pk}] if row else []

    return find


def token_user():
    """The API token route names a token by its user's id."""
    return [{"user": pk} for pk in apps.get_model("authtoken.Token").objects.order_by("user_id").values_list("user_id", flat=True)[:1]]


def import_templates():
    """Every kind of import, as CSV and as XLSX."""
    from imports.models import Kind

    return [{"kind": kind, "fmt": fmt} for kind in Kind.values for fmt in ("csv", "xlsx")]


def set_password_link():
    """The invitation link of a demo user (a real one-time token), then the page it redirects to."""
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    user = apps.get_model(settings.AUTH_USER_MODEL).objects.filter(username="sales2").first()
    if user is None:
        return []
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    return [{"uidb64": uid, "token": default_token_generator.make_token(user)}, {"uidb64": uid, "token": "set-password"}]


def account_pk():
    return [{"account_pk": pk} for pk in apps.get_model("customers.Account").objects.order_by("pk").values_list("pk", flat=True)[:1]]


# Route name (fnmatch pattern) → where its ids come from. First match wins: specific names first,
# then a default per namespace. A new app adds its lines here.
IDS: list[tuple[str, Callable[[], list[dict]]]] = [
    ("customers:contact-*", children("customers.Contact", "account", "contact_pk")),
    ("customers:*", rows("customers.Account")),
    ("catalog:entry-edit", children("catalog.PriceBookEntry", "product", "entry_pk")),
    ("catalog:product-*", rows("catalog.Product")),
    ("catalog:pricing-preview", rows("catalog.Product")),
    ("catalog:entry-create", rows("catalog.Product")),
    ("catalog:price-book-*", rows("catalog.PriceBook")),
    ("catalog:tax-rule-*", rows("catalog.TaxRule")),
    ("catalog:legal-entities-*", rows("catalog.LegalEntity")),
    ("catalog:billing-rules-*", rows("catalog.BillingRule")),
    ("catalog:families-*", rows("catalog.ProductFamily")),
    ("quotes:line-*", children("quotes.QuoteLine", "quote", "line_pk")),
    ("quotes:detail", rows("quotes.Quote", vary="status")),
    ("quotes:*", rows("quotes.Quote")),
    ("contracts:order-product-*", children("contracts.OrderProduct", "order", "product_pk")),
    ("contracts:order-*", rows("contracts.Order", vary="status")),
    ("contracts:quote-accept", rows("quotes.Quote")),
    ("contracts:deliver", rows("contracts.OrderProduct", product__needs_delivery=True, order__status="activated")),
    ("contracts:*", rows("contracts.Contract", vary="status")),
    ("invoicing:credit-note-*", rows("invoicing.CreditNote", vary="status")),
    ("invoicing:credit", rows("invoicing.Invoice", status="posted")),
    ("invoicing:run-*", rows("invoicing.InvoiceRun", vary="status")),
    ("invoicing:bulk-job*", rows("invoicing.BulkJob")),
    ("invoicing:schedule-*", rows("invoicing.InvoiceSchedule")),
    ("invoicing:*", rows("invoicing.Invoice", vary="status")),
    ("payments:invoice*", rows("invoicing.Invoice", vary="status")),
    ("payments:credit-note", rows("invoicing.CreditNote", vary="status")),
    ("payments:run", rows("payments.PaymentRun")),
    ("payments:dunning-step", rows("payments.DunningStep")),
    ("payments:bank-statement*", rows("payments.StatementImport")),
    ("payments:bank-line-*", rows("payments.StatementLine", vary="status")),
    ("payments:*", rows("payments.Payment", vary="source")),
    ("api:invoice-balance-*", rows("invoicing.Invoice", status="posted")),
    ("api:account-*", rows("customers.Account")),
    ("api:quote-*", rows("quotes.Quote", vary="status")),
    ("api:delivery-*", rows("contracts.OrderProduct", product__needs_delivery=True, order__status="activated")),
    ("api:token-detail", token_user),
    ("accounting:chart-edit", rows("accounting.ChartAccount")),
    ("accounting:entry", rows("accounting.JournalEntry", vary="kind")),
    ("accounting:*", rows("accounting.FinancePeriod", vary="status")),
    ("imports:template", import_templates),
    ("imports:*", rows("imports.ImportBatch", vary="status")),
    ("webhooks:delivery", rows("webhooks.Delivery", vary="status")),
    ("webhooks:resend", rows("webhooks.Delivery")),
    ("webhooks:*", rows("webhooks.Endpoint")),
    ("password_reset_confirm", set_password_link),
    ("user-*", rows(settings.AUTH_USER_MODEL, username="finance")),
    ("token-revoke", rows(settings.AUTH_USER_MODEL, username="finance")),
]

# Routes not opened, each with its reason. Keep it short: every entry is a page no test visits.
EXCLUDED = {
    # Streams a media file from disk in development only; it holds no page.
    "<serve>": "static file server",
}

# Kwargs that are not row ids.
CONSTANT_KWARGS = {"format": "json"}


def route_ids(name: str, kwargs: list[str], callback) -> list[dict] | str:
    """Real kwargs for the route, or a message saying why there are none."""
    needed = [k for k in kwargs if k not in CONSTANT_KWARGS]
    constants = {k: CONSTANT_KWARGS[k] for k in kwargs if k in CONSTANT_KWARGS}
    if not needed:
        return [constants]
    if needed == ["account_pk"]:
        found = account_pk()
    else:
        finder = next((f for pattern, f in IDS if fnmatch.fnmatchcase(name, pattern)), None)
        if finder is None:
            view_class = getattr(callback, "cls", None)
            queryset = getattr(view_class, "queryset", None)
            if queryset is None:
                return f"no id source for {name} {needed}: add a line to IDS in tests/test_every_page.py"
            finder = rows(queryset.model._meta.label)
        found = finder()
    if not found:
        return f"no row in the demo data for {name} {needed}: seed one in the app's demo.py or list the route in EXCLUDED"
    missing = [k for k in needed if k not in found[0]]
    if missing:
        return f"id source for {name} gives {sorted(found[0])}, the route needs {needed}"
    return [{**constants, **{k: v for k, v in ids.items() if k in needed}} for ids in found]


def project_routes():
    routes = []
    for namespace, pattern in iter_patterns():
        if pattern.callback is serve:
            continue
        if namespace == "admin" or not pattern.name:
            continue  # the Django admin is staff-only; Finance and Sales are sent to its login
        name = f"{namespace}:{pattern.name}" if namespace else pattern.name
        kwargs = list(pattern.pattern.regex.groupindex)
        routes.append((name, tuple(kwargs), pattern.callback))
    return routes


ROUTES = project_routes()


def _beyond_the_demo():
    """Rows the demo does not hold, made through the services, so their pages are opened too."""
    from invoicing.models import Invoice
    from invoicing.services import bulk_job_create

    posted = Invoice.objects.filter(status=Invoice.Status.POSTED).order_by("pk")[:2]
    bulk_job_create(kind="send", ids=[i.pk for i in posted], actor=None, start=False)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo data, seeded once for this module and rolled back after it."""
    with django_db_blocker.unblock(), time_machine.travel(TODAY, tick=False):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            with open("/dev/null", "w") as out:
                call_command("seed_demo", stdout=out)
            _beyond_the_demo()
            users = {role: make_user(f"pages-{role.value.lower()}", role) for role in (Role.FINANCE, Role.SALES)}
            yield users
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def strict_templates(settings):
    templates = copy.deepcopy(settings.TEMPLATES)
    for engine in templates:
        engine.setdefault("OPTIONS", {}).update(string_if_invalid=INVALID, debug=True)
    settings.TEMPLATES = templates  # assigned, so Django drops its cached engines


def test_every_route_has_real_ids(demo):
    problems = [f"{name}: {ids}" for name, kwargs, callback in ROUTES
                if name not in EXCLUDED and isinstance(ids := route_ids(name, list(kwargs), callback), str)]
    assert problems == []


def _body(response) -> str:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    if not response.get("Content-Type", "").startswith(("text/", "application/json")):
        return ""
    return content.decode("utf-8", "replace")


@pytest.mark.parametrize(("name", "kwargs", "callback"), ROUTES, ids=[f"{r[0]}{'.' + r[1][-1] if 'format' in r[1] else ''}" for r in ROUTES])
def test_page_renders(demo, strict_templates, client, name, kwargs, callback):
    if name in EXCLUDED:
        return
    found = route_ids(name, list(kwargs), callback)
    assert not isinstance(found, str), found
    failures = []
    for role, user in demo.items():
        client.force_login(user)
        for ids in found:
            try:
                url = reverse(name, kwargs=ids)
            except NoReverseMatch as exc:
                failures.append(f"{name} {ids}: {exc}")
                continue
            try:
                response = client.get(url)
            except Exception as exc:  # noqa: BLE001 - any exception while rendering is the failure we look for
                failures.append(f"{role.value} GET {url} raised {type(exc).__name__}: {exc}")
                continue
            if response.status_code >= 500:
                failures.append(f"{role.value} GET {url} → {response.status_code}")
            elif unresolved := sorted({v for v in MARKER.findall(_body(response)) if not v.startswith(OPTIONAL_PREFIXES)}):
                failures.append(f"{role.value} GET {url}: unresolved template variables {unresolved}")
        client.logout()
    assert failures == []
