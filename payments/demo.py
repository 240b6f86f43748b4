"""Demo data for payments: the dunning ladder, autopay cards, payments received, a bank statement.

Idempotent: each part checks what is there first (the ladder by offset, methods per account,
payments by their DEMO- reference, the statement by its file hash)."""

from decimal import Decimal

from billing_site import clock
from billing_site.money import round_money
from customers.models import Account
from invoicing.models import Invoice
from payments import services
from payments.models import DunningStep, Payment, PaymentMethod
from payments.selectors import open_invoices

LADDER = [
    ("Friendly reminder", -3, DunningStep.Action.EMAIL, DunningStep.Template.REMINDER),
    ("First overdue notice", 7, DunningStep.Action.EMAIL, DunningStep.Template.OVERDUE),
    ("Second notice", 14, DunningStep.Action.EMAIL, DunningStep.Template.SECOND),
    ("Final notice and credit hold", 30, DunningStep.Action.EMAIL_HOLD, DunningStep.Template.FINAL),
]


def seed(*, stdout=None) -> None:
    today = clock.today()
    have = set(DunningStep.objects.values_list("offset_days", flat=True))
    for name, offset, action, template in LADDER:
        if offset not in have:
            services.dunning_step_save(actor=None, data={"name": name, "offset_days": offset, "action": action, "template": template})
    accounts = list(Account.objects.order_by("id")[:40])
    for account, token, last4 in zip(accounts[2:5], ("tok_visa", "tok_mastercard", "tok_insufficient_funds"),
                                     ("4242", "4444", "9995"), strict=False):
        if not PaymentMethod.objects.filter(account=account).exists():
            services.payment_method_add(account=account, token=token, last4=last4, exp_month=12, exp_year=today.year + 2,
                                        is_autopay=True)
    made = 0
    if not Payment.objects.filter(reference__startswith="DEMO-").exists():
        for i, account in enumerate(accounts):
            rows = list(open_invoices(account=account)[:3])
            if not rows or i % 3 == 2:
                continue  # every third account pays nothing: the aging report has something to show
            invoice = rows[0]
            amount = invoice.open_amount if i % 4 else invoice.open_amount / 2
            services.payment_record(
                account=account, amount=round_money(amount, invoice.currency) + (Decimal("25") if i % 5 == 0 else 0),
                currency=invoice.currency, received_date=min(today, invoice.due_date or today),
                method=("bank_transfer", "check", "direct_debit")[i % 3], today=today, reference=f"DEMO-{invoice.number}",
                auto_allocate=True,
            )
            made += 1
    posted = Invoice.objects.filter(status=Invoice.Status.POSTED).count()
    _statement(today)
    if stdout:
        stdout.write(f"  payments: ladder of {DunningStep.objects.count()} steps, {made} payments recorded ({posted} posted invoices)")


def _statement(today) -> None:
    from payments.models import StatementImport

    if StatementImport.objects.filter(file_name="demo-releve.csv").exists():
        return
    rows = ["date,amount,currency,reference,counterparty"]
    for invoice in Invoice.objects.filter(status=Invoice.Status.POSTED).order_by("id")[:40]:
        balance = open_invoices(account=invoice.account, currency=invoice.currency).filter(pk=invoice.pk).first()
        if balance is not None and len(rows) < 3:
            rows.append(f"{today.isoformat()},{balance.open_amount:.2f},{invoice.currency},VIR {invoice.number},{invoice.account.legal_name}")
    rows.append(f"{today.isoformat()},180.00,EUR,VIREMENT DIVERS,SARL INCONNUE")
    rows.append(f"{today.isoformat()},-35.00,EUR,FRAIS TENUE DE COMPTE,BANQUE")
    services.statement_import(file_name="demo-releve.csv", content=("\n".join(rows) + "\n").encode(), today=today)
