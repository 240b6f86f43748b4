"""Payments reads: balances, lists, the credit picture (read by earlier stages' views), reports."""

from payments.selectors.balances import (
    PaymentStatus,
    credit_note_balance,
    credit_notes_with_balance,
    invoice_balance,
    invoice_payment_status,
    invoices_with_balance,
    line_balance,
    net_allocations,
    open_credit_notes,
    open_invoices,
)
from payments.selectors.credit import (
    BUCKETS,
    DSO_WINDOW_DAYS,
    CreditSummary,
    CreditWarning,
    OpenItem,
    account_panel,
    credit_figures,
    credit_summary,
)
from payments.selectors.pages import account_tab, dashboard_cards, global_search

__all__ = [
    "BUCKETS",
    "DSO_WINDOW_DAYS",
    "CreditSummary",
    "CreditWarning",
    "OpenItem",
    "PaymentStatus",
    "account_panel",
    "account_tab",
    "credit_figures",
    "credit_note_balance",
    "credit_notes_with_balance",
    "credit_summary",
    "dashboard_cards",
    "global_search",
    "invoice_balance",
    "invoice_payment_status",
    "invoices_with_balance",
    "line_balance",
    "net_allocations",
    "open_credit_notes",
    "open_invoices",
]
