"""The admin goes through the rules: billed usage is read-only, runs and money rows are not edited here."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from billing_site.errors import Immutable
from billing_site.models import AuditLog
from invoicing import services
from invoicing.models import InvoiceRun, UsageRecord
from invoicing.services.usage_corrections import usage_record_correct
from invoicing.tests.factories import AccountFactory, activate

pytestmark = pytest.mark.django_db
BILLED = "This usage is already billed: it cannot be changed. Record an adjustment instead."


@pytest.fixture
def usage(catalog):
    calls = catalog.product("api-calls", price="0.015", charge_type="usage", billing_type="arrears", frequency=1)
    sub = activate(catalog=catalog, products=[(calls, "1")], account=AccountFactory()).subscriptions.get()
    services.usage_ingest(
        records=[{"subscription": sub.pk, "quantity": "333", "timestamp": "2025-01-03T09:00:00Z", "idempotency_key": "d3"}],
        actor=None,
    )
    return UsageRecord.objects.get()


def bill_january():
    run = services.invoice_run_create(actor=None, target_date=date(2025, 2, 1), auto_post=True, start=False)
    return services.invoice_run_execute(run=run)


def change_form(record, quantity):
    return {
        "quantity": quantity, "occurred_at_0": "2025-01-03", "occurred_at_1": "09:00:00",
    }


def test_billed_usage_quantity_cannot_be_edited_in_the_admin(client, admin_user, usage):
    bill_january()
    usage.refresh_from_db()
    assert usage.rated_entry_id is not None
    client.force_login(admin_user)
    url = reverse("admin:invoicing_usagerecord_change", args=[usage.pk])
    page = client.get(url)
    assert "quantity" in page.context["adminform"].readonly_fields
    client.post(url, change_form(usage, "999999"))
    usage.refresh_from_db()
    assert usage.quantity == Decimal("333")
    assert client.post(reverse("admin:invoicing_usagerecord_delete", args=[usage.pk]), {"post": "yes"}).status_code == 403
    with pytest.raises(Immutable) as exc:
        usage_record_correct(record=usage, actor=admin_user, data={"quantity": Decimal("1")})
    assert str(exc.value) == BILLED


def test_unbilled_usage_is_corrected_through_the_service_with_an_audit_row(client, admin_user, usage):
    client.force_login(admin_user)
    url = reverse("admin:invoicing_usagerecord_change", args=[usage.pk])
    assert "rated_entry" in client.get(url).context["adminform"].readonly_fields
    response = client.post(url, change_form(usage, "300"))
    assert response.status_code == 302
    usage.refresh_from_db()
    assert (usage.quantity, usage.business_date) == (Decimal("300"), date(2025, 1, 3))
    row = AuditLog.objects.get(action="usage_corrected")
    assert (row.actor_label, row.data) == ("ada", {"quantity": ["333.000000", "300"]})
    refused = client.post(url, change_form(usage, "-1"))
    assert refused.context["adminform"].form.errors == {"quantity": ["The quantity must be zero or more."]}


def test_runs_and_allocations_are_not_edited_in_the_admin(client, admin_user, usage):
    run = bill_january()
    client.force_login(admin_user)
    url = reverse("admin:invoicing_invoicerun_change", args=[run.pk])
    client.post(url, {"target_date": "9999-12-31", "invoice_date": "9999-12-31", "auto_post": ""})
    assert InvoiceRun.objects.get(pk=run.pk).target_date == date(2025, 2, 1)
    assert client.get(reverse("admin:invoicing_invoicerun_add")).status_code == 403


def test_draft_invoices_are_not_deleted_behind_the_discard_service(client, admin_user, catalog, contract):
    run = services.invoice_run_create(actor=None, target_date=date(2025, 1, 15), auto_post=False, start=False)
    services.invoice_run_execute(run=run)
    from invoicing.models import Invoice

    draft = Invoice.objects.get()
    assert draft.status == "draft"
    client.force_login(admin_user)
    assert client.post(reverse("admin:invoicing_invoice_delete", args=[draft.pk]), {"post": "yes"}).status_code == 403
    assert Invoice.objects.filter(pk=draft.pk).exists()
