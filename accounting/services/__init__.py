"""Accounting writes: the books' set-up, journaling posted documents, recognition, period close."""

from accounting.services.books import books_ensure, chart_account_update, periods_ensure
from accounting.services.close import period_check, period_close, period_reopen, period_reopen_preview
from accounting.services.journal import books_process, journal_entry_reverse, revenue_recognize

__all__ = [
    "books_ensure", "books_process", "chart_account_update", "journal_entry_reverse", "period_check", "period_close", "period_reopen",
    "period_reopen_preview", "periods_ensure", "revenue_recognize",
]
