"""Named choice sets for the OpenAPI schema (several models have a `status`; each gets its own name).

drf-spectacular imports these by dotted path (SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]), and it
cannot reach a class nested in a model, hence the module-level names.
"""

from contracts.models import AmendmentType, Contract, Order, ScheduleEntry, Subscription
from customers.models import Account
from invoicing.models import CreditNote, Invoice, InvoiceRun, LineSource
from payments.models import Payment, PaymentAttempt, PaymentRun, StatementLine
from quotes.models import Quote

ENUMS = {
    "AccountStatusEnum": Account.Status,
    "QuoteStatusEnum": Quote.Status,
    "OrderTypeEnum": Order.Type,
    "OrderStatusEnum": Order.Status,
    "AmendmentTypeEnum": AmendmentType,
    "ContractStatusEnum": Contract.Status,
    "SubscriptionStatusEnum": Subscription.Status,
    "ScheduleEntryKindEnum": ScheduleEntry.Kind,
    "ScheduleEntryStatusEnum": ScheduleEntry.Status,
    "InvoiceStatusEnum": Invoice.Status,
    "LineSourceEnum": LineSource,
    "CreditNoteKindEnum": CreditNote.Kind,
    "CreditNoteStatusEnum": CreditNote.Status,
    "InvoiceRunStatusEnum": InvoiceRun.Status,
    "StatementLineStatusEnum": StatementLine.Status,
    "PaymentRunStatusEnum": PaymentRun.Status,
    "PaymentAttemptStatusEnum": PaymentAttempt.Status,
    "PaymentSourceEnum": Payment.Source,
}
globals().update({name.removesuffix("Enum"): choices for name, choices in ENUMS.items()})
