"""Setting up a legal entity's books: the default chart of accounts and the finance periods."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounting.models import AccountRole, Books, ChartAccount, FinancePeriod
from billing_site.audit import audit_record
from billing_site.errors import ValidationFailed
from billing_site.validation import check_fields
from catalog.models import LegalEntity

# The accounts a French company uses (Plan comptable général) and a common US set.
FRENCH_CHART = [
    ("411", "Clients", AccountRole.RECEIVABLE),
    ("706", "Prestations de services", AccountRole.REVENUE),
    ("487", "Produits constatés d'avance", AccountRole.DEFERRED_REVENUE),
    ("44571", "TVA collectée", AccountRole.VAT_COLLECTED),
    ("512", "Banque", AccountRole.BANK),
    ("418", "Clients - factures à établir", AccountRole.UNBILLED),
]
US_CHART = [
    ("1200", "Accounts receivable", AccountRole.RECEIVABLE),
    ("4000", "Subscription revenue", AccountRole.REVENUE),
    ("2400", "Deferred revenue", AccountRole.DEFERRED_REVENUE),
    ("2200", "Sales tax payable", AccountRole.VAT_COLLECTED),
    ("1000", "Cash", AccountRole.BANK),
    ("1250", "Unbilled revenue", AccountRole.UNBILLED),
]
CHART_FIELDS = ("code", "name")


def period_bounds(*, calendar: str, year: int) -> list[tuple[str, dt.date, dt.date]]:
    """The finance periods of one year: calendar months, or 4-4-5 weeks per quarter from 1 January
    (the twelfth period runs to 31 December, so years never drift)."""
    if calendar == Books.Calendar.FOUR_FOUR_FIVE:
        out = []
        start = dt.date(year, 1, 1)
        for index in range(12):
            weeks = 5 if index % 3 == 2 else 4
            end = dt.date(year + 1, 1, 1) if index == 11 else start + dt.timedelta(weeks=weeks)
            out.append((f"{year}-P{index + 1:02d}", start, end))
            start = end
        return out
    return [
        (f"{year}-{m:02d}", dt.date(year, m, 1), dt.date(year + (m == 12), m % 12 + 1, 1)) for m in range(1, 13)
    ]


def books_ensure(*, legal_entity: LegalEntity) -> Books:
    """The entity's books, created with the default chart (French for a French entity, else US)."""
    books = Books.objects.filter(legal_entity=legal_entity).first()
    if books is not None:
        return books
    digits = "".join(c for c in legal_entity.tax_id if c.isdigit())
    siren = digits[-9:] if len(digits) >= 9 else ""
    try:
        with transaction.atomic():
            books = Books.objects.create(legal_entity=legal_entity, siren=siren)
            chart = FRENCH_CHART if legal_entity.country == "FR" else US_CHART
            ChartAccount.objects.bulk_create(
                [ChartAccount(legal_entity=legal_entity, code=code, name=name, role=role) for code, name, role in chart]
            )
    except IntegrityError:  # another process set them up at the same moment
        books = Books.objects.get(legal_entity=legal_entity)
    return books


def chart_roles(*, legal_entity: LegalEntity) -> dict[str, ChartAccount]:
    """The account holding each posting role (a role added since the books were set up gets its default account)."""
    books_ensure(legal_entity=legal_entity)
    roles: dict[str, ChartAccount] = {str(a.role): a for a in ChartAccount.objects.filter(legal_entity=legal_entity, role__isnull=False)}
    chart = FRENCH_CHART if legal_entity.country == "FR" else US_CHART
    missing = [ChartAccount(legal_entity=legal_entity, code=code, name=name, role=role) for code, name, role in chart if role not in roles]
    if missing:
        ChartAccount.objects.bulk_create(missing, ignore_conflicts=True)
        roles = {str(a.role): a for a in ChartAccount.objects.filter(legal_entity=legal_entity, role__isnull=False)}
    return roles


def periods_ensure(*, legal_entity: LegalEntity, first_date: dt.date, last_date: dt.date) -> None:
    """Create the finance periods covering `first_date`..`last_date` that do not exist yet."""
    books = books_ensure(legal_entity=legal_entity)
    existing = set(FinancePeriod.objects.filter(legal_entity=legal_entity).values_list("start_date", flat=True))
    new = [
        FinancePeriod(legal_entity=legal_entity, name=name, start_date=start, end_date=end)
        for year in range(first_date.year, last_date.year + 1)
        for name, start, end in period_bounds(calendar=books.calendar, year=year)
        if start not in existing
    ]
    FinancePeriod.objects.bulk_create(new, ignore_conflicts=True)


def chart_account_update(*, account: ChartAccount, data: dict, actor) -> ChartAccount:
    """Rename or renumber a ledger account (its role stays); audited."""
    check_fields(data, CHART_FIELDS)
    errors = {}
    code = str(data.get("code", account.code)).strip()
    name = " ".join(str(data.get("name", account.name)).split())
    if not code or not code.isalnum() or len(code) > 20:
        errors["code"] = [_("An account number is 1 to 20 letters or digits.")]
    if not name or len(name) > 120:
        errors["name"] = [_("A name of 1 to 120 characters is required.")]
    if not errors and ChartAccount.objects.filter(legal_entity=account.legal_entity_id, code=code).exclude(pk=account.pk).exists():
        errors["code"] = [_("The account %(code)s already exists.") % {"code": code}]
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic():
        before = {"code": account.code, "name": account.name}
        account.code, account.name = code, name
        account.save(update_fields=["code", "name"])
        audit_record(obj=account, action="updated", actor=actor, data={"before": before, "after": {"code": code, "name": name}})
    return account
