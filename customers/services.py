"""Writes for accounts and contacts. Every change is validated here and audited."""

from django.db import transaction
from django.utils.translation import gettext as _

from billing_site.audit import audit_record
from billing_site.errors import Forbidden, ValidationFailed
from billing_site.events import event_record, fields_of
from billing_site.numbering import number_assign
from billing_site.roles import is_finance
from billing_site.validation import check_fields, full_clean
from customers.models import Account, Contact

# Who may change what on an account, written down once (pages, API and admin all go through here).
# Only Finance and Admin change what drives tax, currency or billing: the legal identity and tax id
# printed on invoices, the country (tax rules), tax exemption, currency, status, billing day,
# payment and credit terms, and who owns the account. A sales rep edits the name, address, contact
# details, billing emails, document language and notes of the accounts they own.
FINANCE_FIELDS = (
    "legal_name", "country", "tax_id", "tax_exempt", "currency", "status", "billing_day",
    "payment_terms_days", "credit_limit_amount", "credit_hold", "sales_owner",
)
# An account cannot exist without a country and a currency, so a rep fills these in when opening
# one; afterwards only Finance and Admin change them.
OPENING_FIELDS = ("legal_name", "country", "tax_id", "currency")
ACCOUNT_FIELDS = (
    "name", "legal_name", "address_line1", "address_line2", "postal_code", "city", "region", "country",
    "tax_id", "tax_exempt", "currency", "language", "payment_terms_days", "billing_day",
    "credit_limit_amount", "credit_hold", "billing_emails", "sales_owner", "status", "notes",
)
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "title", "is_billing_contact")


def _check_finance_fields(*, actor, changed: set[str]) -> None:
    blocked = sorted(changed & set(FINANCE_FIELDS))
    if blocked and actor is not None and not is_finance(actor):
        raise Forbidden(
            _("Only finance can change tax, currency, billing and credit terms."),
            fields={f: [_("Only finance can change this field.")] for f in blocked},
        )


def account_can_edit(*, account: Account, user) -> bool:
    """Finance and Admin edit every account; a sales rep only the accounts they own."""
    return is_finance(user) or (account.sales_owner_id is not None and account.sales_owner_id == user.pk)


def account_check_owner(*, account: Account, actor) -> None:
    """Refuse a sales rep's change to an account owned by someone else (jobs, `actor=None`, pass)."""
    if actor is not None and not account_can_edit(account=account, user=actor):
        raise Forbidden(_("Only the account's sales owner, finance or an admin can change this account."))


def account_check_change(*, account: Account, actor, changed: set[str]) -> None:
    """Raise Forbidden if `actor` may not change these fields of this account (new or saved)."""
    if account.pk is not None:
        account_check_owner(account=account, actor=actor)
        _check_finance_fields(actor=actor, changed=changed)
    else:
        _check_finance_fields(actor=actor, changed=changed - set(OPENING_FIELDS))


@transaction.atomic
def account_create(*, actor, data: dict) -> Account:
    """Create an account after validating every field."""
    account = account_build(actor=actor, data=data)
    account.save()
    # The number derives from the primary key, so it is unique and never reused.
    number_assign(account)
    audit_record(obj=account, action="created", actor=actor, to_state=account.status)
    return account


def account_build(*, actor, data: dict, validate_constraints: bool = True) -> Account:
    """A new account with every field validated, not saved (number "PENDING" until the primary key).

    `validate_constraints=False` skips the check constraints' database round trip (bulk imports;
    the field validators check the same bounds and the database still enforces them)."""
    check_fields(data, ACCOUNT_FIELDS)
    data = dict(data)
    if actor is not None and not is_finance(actor) and data.get("sales_owner") is None:
        data["sales_owner"] = actor  # a rep owns the accounts they open
    account = Account(**data)
    defaults = Account(sales_owner=actor if actor is not None and not is_finance(actor) else None)
    _check_finance_fields(
        actor=actor,
        changed={f for f in FINANCE_FIELDS if f not in OPENING_FIELDS and getattr(account, f) != getattr(defaults, f)},
    )
    account.number = "PENDING"
    full_clean(account, exclude=["number"], validate_constraints=validate_constraints)
    return account


@transaction.atomic
def account_update(*, account: Account, actor, data: dict) -> Account:
    """Update an account; the audit row lists each changed field with its old and new value."""
    check_fields(data, ACCOUNT_FIELDS)
    account = Account.objects.select_for_update().get(pk=account.pk)
    account_check_owner(account=account, actor=actor)
    before = {f: getattr(account, f) for f in data}
    for field, value in data.items():
        setattr(account, field, value)
    changed = {f for f in data if getattr(account, f) != before[f]}
    if not changed:
        return account
    _check_finance_fields(actor=actor, changed=changed)
    full_clean(account)
    account.save()
    changes = {f: [_audit_value(before[f]), _audit_value(getattr(account, f))] for f in sorted(changed)}
    if "status" in changed:
        audit_record(obj=account, action="status_changed", actor=actor, from_state=before["status"], to_state=account.status)
    if "credit_hold" in changed:
        audit_record(
            obj=account, action="credit_hold_changed", actor=actor,
            from_state=str(before["credit_hold"]).lower(), to_state=str(account.credit_hold).lower(),
        )
    audit_record(obj=account, action="updated", actor=actor, message=", ".join(sorted(changed)), data=changes)
    if "credit_hold" in changed:
        event_record(type="account.credit_hold_changed", account_id=account.pk, payload=fields_of(account, "id", "number", "credit_hold"))
    event_record(type="account.updated", account_id=account.pk, payload={**fields_of(account, "id", "number", "status"), "changed": sorted(changed)})
    return account


def _audit_value(value):
    if hasattr(value, "pk"):
        return str(value.pk)
    return str(value) if value is not None else None


@transaction.atomic
def account_set_credit_hold(*, account: Account, actor, hold: bool, reason: str = "", actor_label: str = "") -> Account:
    """Put an account on credit hold or release it (finance, or the dunning job)."""
    account = Account.objects.select_for_update().get(pk=account.pk)
    if account.credit_hold == hold:
        return account
    if actor is not None and not is_finance(actor):
        raise ValidationFailed(_("Only finance can change credit terms."))
    account.credit_hold = hold
    account.save(update_fields=["credit_hold", "updated_at"])
    audit_record(
        obj=account, action="credit_hold_changed", actor=actor, actor_label=actor_label,
        from_state=str(not hold).lower(), to_state=str(hold).lower(), message=reason,
    )
    event_record(type="account.credit_hold_changed", account_id=account.pk, payload={**fields_of(account, "id", "number", "credit_hold"), "reason": reason})
    return account


@transaction.atomic
def contact_create(*, account: Account, actor, data: dict) -> Contact:
    """Add a contact; marking it billing contact moves the flag from the previous one."""
    account_check_owner(account=account, actor=actor)
    contact = Contact(account=account, **{k: v for k, v in data.items() if k in CONTACT_FIELDS})
    full_clean(contact, exclude=["account"])
    if contact.is_billing_contact:
        Contact.objects.filter(account=account, is_billing_contact=True).update(is_billing_contact=False)
    contact.save()
    audit_record(obj=account, action="contact_added", actor=actor, message=str(contact))
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, actor, data: dict) -> Contact:
    """Edit a contact."""
    contact = Contact.objects.select_for_update().select_related("account").get(pk=contact.pk)
    account_check_owner(account=contact.account, actor=actor)
    for field, value in data.items():
        if field in CONTACT_FIELDS:
            setattr(contact, field, value)
    full_clean(contact, exclude=["account"])
    if contact.is_billing_contact:
        Contact.objects.filter(account=contact.account_id, is_billing_contact=True).exclude(pk=contact.pk).update(
            is_billing_contact=False
        )
    contact.save()
    audit_record(obj=contact.account, action="contact_updated", actor=actor, message=str(contact))
    return contact


@transaction.atomic
def contact_delete(*, contact: Contact, actor) -> None:
    """Remove a contact (documents keep their own snapshot of who was billed)."""
    account = contact.account
    account_check_owner(account=account, actor=actor)
    label = str(contact)
    contact.delete()
    audit_record(obj=account, action="contact_removed", actor=actor, message=label)
