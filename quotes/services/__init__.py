"""Writes for quotes: building (header and lines), the approval and customer lifecycle, the PDF.

Every write goes through these functions, for the pages, the API, the tasks and the admin alike,
so the same rules hold everywhere: lines change only on drafts, approvals are computed here and
cannot be skipped, and every change of status is locked, re-checked and audited.
"""

from quotes.services.building import (
    quote_create,
    quote_delete,
    quote_line_add,
    quote_line_remove,
    quote_line_update,
    quote_update,
)
from quotes.services.documents import quote_render_pdf
from quotes.services.lifecycle import (
    quote_accept,
    quote_approval_reasons,
    quote_approve,
    quote_clone,
    quote_expire,
    quote_present,
    quote_reject,
    quote_reject_approval,
    quote_revise,
    quote_submit,
    quotes_expire_due,
)

__all__ = [
    "quote_accept",
    "quote_approval_reasons",
    "quote_approve",
    "quote_clone",
    "quote_create",
    "quote_delete",
    "quote_expire",
    "quote_line_add",
    "quote_line_remove",
    "quote_line_update",
    "quote_present",
    "quote_reject",
    "quote_reject_approval",
    "quote_render_pdf",
    "quote_revise",
    "quote_submit",
    "quote_update",
    "quotes_expire_due",
]
