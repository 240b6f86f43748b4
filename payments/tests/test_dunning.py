import datetime as dt
from decimal import Decimal as D

import pytest
from django.core import mail

from billing_site.errors import ValidationFailed
from payments import services
from payments.models import DunningEvent, DunningStep
from payments.selectors import credit_summary
from payments.tests.factories import AccountFactory, posted_invoice

pytestmark = pytest.mark.django_db
DUE = dt.date(2026, 5, 31)


@pytest.fixture
def ladder(db):
    steps = [("Reminder", -3, "email", "reminder"), ("First notice", 7, "email", "overdue"),
             ("Second notice", 14, "email", "second_notice"), ("Final notice", 30, "email_credit_hold", "final_notice")]
    return [services.dunning_step_save(actor=None, data={"name": n, "offset_days": o, "action": a, "template": t})
            for n, o, a, t in steps]


def run(day, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return services.dunning_run(today=day)


def test_ladder_walks_reminder_notices_then_credit_hold(ladder, django_capture_on_commit_callbacks):
    account = AccountFactory(billing_emails="ap@client.test", language="fr")
    invoice = posted_invoice(account, ["500.00"], invoice_date=DUE - dt.timedelta(days=30), due_date=DUE, language="fr")
    assert run(DUE - dt.timedelta(days=4), django_capture_on_commit_callbacks)["sent"] == 0
    assert run(DUE - dt.timedelta(days=3), django_capture_on_commit_callbacks)["sent"] == 1
    assert mail.outbox[0].subject == f"Rappel : la facture {invoice.number} arrive à échéance le 31 mai 2026"
    assert "Montant dû : 500,00\u00a0€" in mail.outbox[0].body
    assert mail.outbox[0].to == ["ap@client.test"]
    for day in (DUE, DUE + dt.timedelta(days=7), DUE + dt.timedelta(days=8), DUE + dt.timedelta(days=14)):
        run(day, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 3
    account.refresh_from_db()
    assert not account.credit_hold
    counts = run(DUE + dt.timedelta(days=30), django_capture_on_commit_callbacks)
    assert counts == {"sent": 1, "skipped": 0, "no_email": 0, "holds": 1}
    account.refresh_from_db()
    assert account.credit_hold
    assert credit_summary(account=account, today=DUE + dt.timedelta(days=30)).warnings[0].code == "credit_hold"
    assert list(DunningEvent.objects.order_by("step__offset_days").values_list("step__name", "status")) == [
        ("Reminder", "sent"), ("First notice", "sent"), ("Second notice", "sent"), ("Final notice", "sent")]
    assert run(DUE + dt.timedelta(days=40), django_capture_on_commit_callbacks)["sent"] == 0
    assert len(mail.outbox) == 4


def test_dunning_stops_when_paid(ladder, django_capture_on_commit_callbacks):
    account = AccountFactory()
    invoice = posted_invoice(account, ["80.00"], invoice_date=DUE - dt.timedelta(days=30), due_date=DUE)
    run(DUE + dt.timedelta(days=7), django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == f"Invoice {invoice.number} is overdue"
    services.payment_record(account=account, amount=D("80.00"), currency="EUR", received_date=DUE + dt.timedelta(days=8),
                            method="check", today=DUE + dt.timedelta(days=8), auto_allocate=True)
    assert run(DUE + dt.timedelta(days=31), django_capture_on_commit_callbacks)["sent"] == 0
    account.refresh_from_db()
    assert not account.credit_hold


def test_a_late_start_sends_only_the_latest_step(ladder, django_capture_on_commit_callbacks):
    account = AccountFactory()
    posted_invoice(account, ["80.00"], invoice_date=DUE - dt.timedelta(days=30), due_date=DUE)
    counts = run(DUE + dt.timedelta(days=15), django_capture_on_commit_callbacks)
    assert counts == {"sent": 1, "skipped": 2, "no_email": 0, "holds": 0}
    assert [m.subject.split(":")[0] for m in mail.outbox] == ["Second notice"]


def test_steps_are_validated(ladder):
    with pytest.raises(ValidationFailed) as exc:
        services.dunning_step_save(actor=None, data={"name": "", "offset_days": 7, "action": "email", "template": "overdue"})
    assert exc.value.fields == {"name": ["Enter a name."], "offset_days": ["Another step already runs on this day."]}
    assert DunningStep.objects.count() == 4
