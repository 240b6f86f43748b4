from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self):
        # Invoicing applies credit notes too: tell it what payments' own rows already use, so a
        # credit is never applied beyond an invoice's real open balance nor spent twice.
        from billing_site.extensions import register_account_panel
        from invoicing.services import documents
        from payments.selectors.balances import credit_note_used_by_payments, invoice_settled_by_payments
        from payments.selectors.credit import account_panel

        if invoice_settled_by_payments not in documents.INVOICE_SETTLED_BY:
            documents.INVOICE_SETTLED_BY.append(invoice_settled_by_payments)
        if credit_note_used_by_payments not in documents.CREDIT_NOTE_USED_BY:
            documents.CREDIT_NOTE_USED_BY.append(credit_note_used_by_payments)
        # The credit picture above the account page's tabs (customers cannot import payments).
        register_account_panel(account_panel)
