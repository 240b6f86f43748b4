"""Every write of the payments stage. Views, the API, tasks and commands only call these."""

from payments.services.allocation import (
    credit_note_allocate,
    credit_note_apply_posted,
    credit_note_refund,
    credit_note_unallocate,
    payment_allocate,
    payment_auto_allocate,
    payment_record,
    payment_refund,
    payment_unallocate,
)
from payments.services.bank import (
    statement_import,
    statement_line_assign,
    statement_line_ignore,
    statement_line_match,
    statement_match,
    statement_match_again,
)
from payments.services.dunning import dunning_run, dunning_step_save
from payments.services.runs import (
    attempt_claim,
    attempt_drive,
    invoice_charge_now,
    payment_method_add,
    payment_method_remove,
    payment_method_set_autopay,
    payment_run_execute,
    payment_run_finish,
    payment_run_start,
)

__all__ = [
    "attempt_claim",
    "attempt_drive",
    "credit_note_allocate",
    "credit_note_apply_posted",
    "credit_note_refund",
    "credit_note_unallocate",
    "dunning_run",
    "dunning_step_save",
    "invoice_charge_now",
    "payment_allocate",
    "payment_auto_allocate",
    "payment_method_add",
    "payment_method_remove",
    "payment_method_set_autopay",
    "payment_record",
    "payment_refund",
    "payment_run_execute",
    "payment_run_finish",
    "payment_run_start",
    "payment_unallocate",
    "statement_import",
    "statement_match",
    "statement_match_again",
    "statement_line_assign",
    "statement_line_ignore",
    "statement_line_match",
]
