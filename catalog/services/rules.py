"""Writes for the catalog's reference data: legal entities, tax rules and rates, billing rules, families."""

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from billing_site.errors import ValidationFailed
from catalog.models import BillingRule, LegalEntity, ProductFamily, TaxRate, TaxRule

from ._common import apply_changes, audit_created, audit_updated, check_fields, full_clean

LEGAL_ENTITY_FIELDS = (
    "name", "address_line1", "address_line2", "postal_code", "city", "country", "tax_id", "currency",
    "invoice_prefix", "credit_note_prefix", "bank_details", "email", "website", "legal_form", "share_capital_amount",
    "registration", "late_payment_rate_percent", "recovery_indemnity_amount", "legal_mentions", "active",
)
# French law fixes the indemnity for collection costs at 40 € (Code de commerce D441-5).
FRENCH_RECOVERY_INDEMNITY = Decimal("40.00")
TAX_RULE_FIELDS = ("name", "taxable", "description")
TAX_RATE_FIELDS = ("legal_entity", "country", "name", "rate_percent")
BILLING_RULE_FIELDS = (
    "name", "legal_entity", "period_boundary", "day_count", "invoice_grouping", "generate_invoices", "net_amendments",
    "one_time_billing",
)
FAMILY_FIELDS = ("name", "approval_discount_percent")


def _clean_text(data: dict, *names) -> dict:
    data = dict(data)
    for name in names:
        if isinstance(data.get(name), str):
            data[name] = data[name].strip()
    return data


def _prefix_errors(entity: LegalEntity) -> dict:
    """An invoice and a credit note series must never share numbers, even across entities."""
    errors = {}
    if entity.invoice_prefix and entity.invoice_prefix == entity.credit_note_prefix:
        errors["credit_note_prefix"] = [_("Invoices and credit notes need different number prefixes.")]
    others = LegalEntity.objects.exclude(pk=entity.pk)
    if entity.invoice_prefix and others.filter(credit_note_prefix=entity.invoice_prefix).exists():
        errors.setdefault("invoice_prefix", []).append(_("Another legal entity uses this prefix for credit notes."))
    if entity.credit_note_prefix and others.filter(invoice_prefix=entity.credit_note_prefix).exists():
        errors.setdefault("credit_note_prefix", []).append(_("Another legal entity uses this prefix for invoices."))
    return errors


@transaction.atomic
def legal_entity_create(*, actor, data: dict) -> LegalEntity:
    """Create a legal entity (the company printed on documents, with its number series)."""
    check_fields(data, LEGAL_ENTITY_FIELDS)
    data = _clean_text(data, "name", "invoice_prefix", "credit_note_prefix", "tax_id")
    entity = LegalEntity(**data)
    if entity.country == "FR" and entity.recovery_indemnity_amount is None:
        entity.recovery_indemnity_amount = FRENCH_RECOVERY_INDEMNITY
    full_clean(entity, extra=_prefix_errors(entity))
    entity.save()
    audit_created(entity, actor=actor)
    return entity


@transaction.atomic
def legal_entity_update(*, legal_entity: LegalEntity, actor, data: dict) -> LegalEntity:
    """Edit a legal entity; posted documents keep their own snapshot of it."""
    check_fields(data, LEGAL_ENTITY_FIELDS)
    data = _clean_text(data, "name", "invoice_prefix", "credit_note_prefix", "tax_id")
    entity = LegalEntity.objects.select_for_update().get(pk=legal_entity.pk)
    changes = apply_changes(entity, data)
    if not changes:
        return entity
    full_clean(entity, extra=_prefix_errors(entity))
    entity.save()
    audit_updated(entity, actor=actor, changes=changes)
    return entity


def _validate_rates(rates: list[dict]) -> list[TaxRate]:
    """Build the rates, reporting each problem as `rates` field errors naming the row."""
    built: list[TaxRate] = []
    errors: list[str] = []
    seen: dict[tuple[int | None, str], int] = {}
    for number, row in enumerate(rates, start=1):
        unknown = set(row) - set(TAX_RATE_FIELDS)
        if unknown:
            errors.append(_("Rate %(number)s: unknown field %(field)s.") % {"number": number, "field": ", ".join(sorted(unknown))})
            continue
        rate = TaxRate(**{**row, "country": (row.get("country") or "").strip().upper()})
        try:
            rate.full_clean(exclude=["tax_rule"], validate_unique=False, validate_constraints=False)
        except Exception as exc:  # noqa: BLE001 - a ValidationError; every message is reported
            for field, messages in getattr(exc, "message_dict", {"rate": [str(exc)]}).items():
                label = TaxRate._meta.get_field(field).verbose_name if field in TAX_RATE_FIELDS else field  # type: ignore[union-attr]  # TaxRate's own concrete fields
                errors += [_("Rate %(number)s, %(field)s: %(message)s") % {"number": number, "field": label, "message": m} for m in messages]
            continue
        scope = (rate.legal_entity_id, rate.country)
        if scope in seen:
            errors.append(
                _("Rate %(number)s applies to the same legal entity and country as rate %(other)s.")
                % {"number": number, "other": seen[scope]}
            )
        seen.setdefault(scope, number)
        built.append(rate)
    if errors:
        raise ValidationFailed(fields={"rates": errors})
    return built


def _rates_snapshot(rule: TaxRule) -> list[str]:
    return [
        f"{r.legal_entity_id or '*'}/{r.country or '*'}: {r.name} {r.rate_percent.normalize():f}%"
        for r in rule.rates.order_by("country", "legal_entity_id", "pk")
    ]


@transaction.atomic
def tax_rule_create(*, actor, data: dict, rates: list[dict] | None = None) -> TaxRule:
    """Create a tax rule and its rates together; a bad rate saves nothing."""
    check_fields(data, TAX_RULE_FIELDS)
    rule = TaxRule(**_clean_text(data, "name"))
    errors = {}
    try:
        full_clean(rule)
    except ValidationFailed as exc:
        errors = exc.fields
    try:
        built = _validate_rates(rates or [])
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    rule.save()
    for rate in built:
        rate.tax_rule = rule
        rate.save()
    audit_created(rule, actor=actor, data={"rates": _rates_snapshot(rule)})
    return rule


@transaction.atomic
def tax_rule_update(*, tax_rule: TaxRule, actor, data: dict, rates: list[dict] | None = None) -> TaxRule:
    """Edit a tax rule; `rates` (when given) replaces all of its rates in the same transaction."""
    check_fields(data, TAX_RULE_FIELDS)
    rule = TaxRule.objects.select_for_update().get(pk=tax_rule.pk)
    before_rates = _rates_snapshot(rule)
    changes = apply_changes(rule, _clean_text(data, "name"))
    errors = {}
    try:
        full_clean(rule)
    except ValidationFailed as exc:
        errors = exc.fields
    built = None
    if rates is not None:
        try:
            built = _validate_rates(rates)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed(fields=errors)
    rule.save()
    if built is not None:
        rule.rates.all().delete()
        for rate in built:
            rate.tax_rule = rule
            rate.save()
        after_rates = _rates_snapshot(rule)
        if after_rates != before_rates:
            changes["rates"] = [before_rates, after_rates]
    if changes:
        audit_updated(rule, actor=actor, changes=changes)
    return rule


@transaction.atomic
def billing_rule_create(*, actor, data: dict) -> BillingRule:
    """Create a billing rule: period boundary, day count, grouping and issuing legal entity."""
    check_fields(data, BILLING_RULE_FIELDS)
    rule = BillingRule(**_clean_text(data, "name"))
    full_clean(rule)
    rule.save()
    audit_created(rule, actor=actor)
    return rule


@transaction.atomic
def billing_rule_update(*, billing_rule: BillingRule, actor, data: dict) -> BillingRule:
    """Edit a billing rule (boundary, day count, grouping, legal entity)."""
    check_fields(data, BILLING_RULE_FIELDS)
    rule = BillingRule.objects.select_for_update().get(pk=billing_rule.pk)
    changes = apply_changes(rule, _clean_text(data, "name"))
    if not changes:
        return rule
    full_clean(rule)
    rule.save()
    audit_updated(rule, actor=actor, changes=changes)
    return rule


@transaction.atomic
def product_family_create(*, actor, data: dict) -> ProductFamily:
    """Create a product family and its discount approval threshold."""
    check_fields(data, FAMILY_FIELDS)
    family = ProductFamily(**_clean_text(data, "name"))
    full_clean(family)
    family.save()
    audit_created(family, actor=actor)
    return family


@transaction.atomic
def product_family_update(*, family: ProductFamily, actor, data: dict) -> ProductFamily:
    """Edit a product family."""
    check_fields(data, FAMILY_FIELDS)
    family = ProductFamily.objects.select_for_update().get(pk=family.pk)
    changes = apply_changes(family, _clean_text(data, "name"))
    if not changes:
        return family
    full_clean(family)
    family.save()
    audit_updated(family, actor=actor, changes=changes)
    return family
