"""Payments models: money received, where it went (allocations, refunds), gateway charges and runs,
dunning, and bank statements."""

from payments.models.bank import StatementImport, StatementLine
from payments.models.dunning import DunningEvent, DunningStep
from payments.models.gateway import GatewayOperation, PaymentAttempt, PaymentMethod, PaymentRun
from payments.models.money import Allocation, Payment, PaymentMethodKind, Refund

__all__ = [
    "Allocation",
    "DunningEvent",
    "DunningStep",
    "GatewayOperation",
    "Payment",
    "PaymentAttempt",
    "PaymentMethod",
    "PaymentMethodKind",
    "PaymentRun",
    "Refund",
    "StatementImport",
    "StatementLine",
]
