from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "payments"
    verbose_name = _("Payments")

    def ready(self):
        # Applying and refunding credit notes is payments' concept (its Allocation and Refund rows).
        # Invoicing, an earlier stage, cannot import it: payments plugs in, so posting a credit note
        # against an invoice applies it through these rows and its balance counts them.
        from billing_site.extensions import register_account_panel
        from invoicing.services import documents
        from payments.selectors.balances import credit_note_used_by_payments
        from payments.selectors.credit import account_panel
        from payments.services.allocation import credit_note_apply_posted

        if credit_note_used_by_payments not in documents.CREDIT_NOTE_USED_BY:
            documents.CREDIT_NOTE_USED_BY.append(credit_note_used_by_payments)
        if credit_note_apply_posted not in documents.CREDIT_NOTE_APPLY_ON_POST:
            documents.CREDIT_NOTE_APPLY_ON_POST.append(credit_note_apply_posted)
        # The credit picture above the account page's tabs (customers cannot import payments).
        register_account_panel(account_panel)
