"""`manage.py seed_demo` builds a believable year of business, through the services, exactly once.

The clock is frozen on 27 November 2026 (a Friday, 9 a.m. UTC), so every count and amount below is
exact; the history is relative to that business date.
"""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.apps import apps
from django.core.management import call_command
from django.db.models import Count

pytestmark = pytest.mark.django_db

TODAY = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
APPS = ("customers", "catalog", "quotes", "contracts", "invoicing", "payments", "billing_site")


def _rows() -> dict[str, int]:
    return {m._meta.label: m.objects.count() for m in apps.get_models() if m._meta.app_label in APPS}


def _seed():
    with open("/dev/null", "w") as out:
        call_command("seed_demo", stdout=out)


def _by(model, field) -> dict[str, int]:
    return dict(model.objects.values_list(field).annotate(n=Count("id")).order_by())


def _figures():
    from billing_site.models import AuditLog
    from invoicing.models import Invoice
    from payments.models import PaymentAttempt
    from payments.selectors.balances import invoices_with_balance

    # The downsell: 45 seats at 432.00 a year (10 % off 480.00) billed monthly; −10 seats from 16 July.
    august = invoices_with_balance(Invoice.objects.filter(account__name="Boulangeries Martin", invoice_date=dt.date(2026, 8, 1))).get()
    # Annual in advance: 120 Enterprise seats at the 51–200 band (540.00), 5 % off.
    enterprise = Invoice.objects.get(account__name="Groupe Bernard Immobilier", invoice_date=dt.date(2026, 8, 1))
    decline = PaymentAttempt.objects.get(status=PaymentAttempt.Status.DECLINED_TRANSIENT)
    return {
        "downsell": [(ln.quantity, ln.net_amount, ln.corrects.invoice.invoice_date if ln.corrects_id else None)
                     for ln in august.lines.order_by("position")],
        "august": (august.total_amount, august.payments_amount, august.credits_amount),
        "first northwind": Invoice.objects.filter(account__name="Northwind Traders").order_by("invoice_date").first().total_amount,
        "enterprise line": enterprise.lines.get(description="Enterprise plan (volume)").net_amount,
        "decline": (decline.account.name, decline.attempted_on, decline.decline_code, decline.next_retry_on),
        "issuers": sorted(Invoice.objects.values_list("legal_entity__name", "currency", "legal_entity__invoice_prefix")
                          .annotate(n=Count("id")).order_by()),
        "held by the ladder": list(AuditLog.objects.filter(action="credit_hold_changed", actor_label="dunning")
                                   .values_list("object_repr", "message")),
    }


def _deliveries(today):
    from contracts.selectors import delivery_list

    done = list(delivery_list(status="delivered", today=today))
    return {"delivered on time": sum(not op.delivered_late for op in done), "delivered late": sum(bool(op.delivered_late) for op in done),
            "late": delivery_list(status="late", today=today).count()}


def test_seed_demo_replays_a_year_of_business_once():
    from contracts.models import Contract, Order
    from customers.models import Account
    from invoicing.models import CreditNote, Invoice, InvoiceRun
    from payments.models import Payment, PaymentAttempt, Refund, StatementLine
    from payments.selectors.reports import aging_report

    with time_machine.travel(TODAY, tick=False):
        _seed()
        first = _rows()
        _seed()
        assert _rows() == first  # the second run creates nothing, not even an audit row

        today = dt.date(2026, 11, 27)
        summary = {
            "contracts": _by(Contract, "status"),
            "draft orders": Order.objects.filter(status=Order.Status.DRAFT).count(),
            "invoices": _by(Invoice, "status"),
            "invoice runs": InvoiceRun.objects.count(),
            "credit notes": sorted(CreditNote.objects.values_list("kind", "status", "total_amount")),
            "payments": _by(Payment, "source"),
            "attempts": _by(PaymentAttempt, "status"),
            "refunds": list(Refund.objects.values_list("amount", "refund_date")),
            "statement": sorted(StatementLine.objects.values_list("line_no", "status")),
            "holds": sorted(Account.objects.filter(credit_hold=True).values_list("name", flat=True)),
            "unapplied": list(Payment.objects.filter(unapplied_amount__gt=0).values_list("account__name", "unapplied_amount")),
            "aging": {c: {k: str(v) for k, v in aging_report(today=today, currency=c)["totals"].items()} for c in ("EUR", "USD")},
            "deliveries": _deliveries(today),
        }
    assert summary == {
        "contracts": {"active": 28, "cancelled": 1, "renewed": 1},
        "draft orders": 2,  # one to activate next week, one from an accepted quote
        "invoices": {"posted": 237, "draft": 9},  # 13 monthly runs posted; today's run left for review, one posted by hand
        "invoice runs": 14,
        # +10 seats twenty days ago and the mid-period downsell are deltas on invoices (no credit note).
        "credit notes": [
            ("amendment", "posted", Decimal("169.470000")),  # the cancelled contract, refunded
            ("partial", "posted", Decimal("326.400000")),  # goodwill: 10 % of a plan line
        ],
        "payments": {"manual": 177, "gateway": 24, "bank": 3},
        "attempts": {"succeeded": 24, "declined_transient": 1},
        "refunds": [(Decimal("169.470000"), dt.date(2026, 9, 15))],
        "statement": [(1, "matched"), (2, "matched"), (3, "matched"), (4, "unmatched"), (5, "ignored")],
        "holds": ["Librairie Papillon", "Logistique Mercier", "Magnolia Hospitality"],
        "unapplied": [("Empire Property Group", Decimal("86.000000"))],
        "aging": {
            "EUR": {"current": "13248.24", "d1_30": "4078.80", "d31_60": "3096.00", "d61_90": "3096.00", "d90_plus": "1440.00"},
            "USD": {"current": "12649.70", "d1_30": "4101.00", "d31_60": "1383.00", "d61_90": "829.80", "d90_plus": "0.00"},
        },
        # Hardware and services that need delivery: some delivered late, two still waiting past their due date.
        "deliveries": {"delivered on time": 4, "delivered late": 4, "late": 2},
    }

    figures = _figures()
    august_total, august_paid, august_credited = figures.pop("august")
    # 35 × 36.00, less the 10 removed seats' 16/31 of July netted on the same invoice, VAT 20 %
    assert august_total == august_paid == Decimal("1289.03") and august_credited == 0
    assert figures == {
        "downsell": [
            (Decimal("35"), Decimal("1260.000000"), None),
            (Decimal("10"), Decimal("-185.810000"), dt.date(2026, 7, 1)),  # 10 × 36.00 × 16/31, corrects July's line
        ],
        "first northwind": Decimal("5667.500000"),  # 75 seats × 540.00 × 82 % / 12 + onboarding 2,900.00
        "enterprise line": Decimal("61560.000000"),  # 120 × 540.00 × 95 %
        "decline": ("Blue Ridge Analytics", dt.date(2026, 11, 16), "insufficient_funds", dt.date(2026, 11, 19)),
        # Each book's legal entity issues its invoices: no USD invoice from the French company.
        "issuers": [("Recur France SAS", "EUR", "FR-INV", 143), ("Recur Inc.", "USD", "US-INV", 103)],
        # FR-INV numbers EUR invoices only: USD invoices are Recur Inc.'s (US-INV), through the USD book.
        "held by the ladder": [("Logistique Mercier", "Invoice FR-INV000092 is overdue: €2,376.00 unpaid.")],
    }
