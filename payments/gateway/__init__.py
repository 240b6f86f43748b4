"""The payment gateway interface and how a stored method finds its gateway.

A gateway authorizes, captures, charges and refunds; every call carries an idempotency key and the
same key always gives back the first result, so a retried task or a crashed worker never charges
twice. Recur stores only the gateway's token of a card, never its number.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol


class GatewayError(Exception):
    """The gateway could not be reached or refused the request itself (not a card decline).

    The attempt stays pending and is sent again, with the same idempotency key, by the next run."""


class IdempotencyMismatch(GatewayError):
    """The key was already used with other parameters: a programming error, never retried blindly."""


@dataclass(frozen=True)
class GatewayResult:
    approved: bool
    transaction_id: str
    amount: Decimal
    currency: str
    code: str = ""
    message: str = ""
    transient: bool = False  # a decline worth retrying later (insufficient funds, try again)

    def as_dict(self) -> dict:
        return {
            "approved": self.approved, "transaction_id": self.transaction_id, "amount": str(self.amount),
            "currency": self.currency, "code": self.code, "message": self.message, "transient": self.transient,
        }

    @classmethod
    def from_dict(cls, data: dict) -> GatewayResult:
        return cls(**{**data, "amount": Decimal(data["amount"])})


class Gateway(Protocol):
    name: str

    def authorize(self, *, token: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayResult: ...

    def capture(self, *, authorization_id: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayResult: ...

    def charge(self, *, token: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayResult: ...

    def refund(self, *, transaction_id: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayResult: ...


def gateway_for(name: str) -> Gateway:
    """The gateway a stored payment method belongs to."""
    from payments.gateway.sandbox import SandboxGateway

    gateways = {"sandbox": SandboxGateway}
    try:
        return gateways[name]()
    except KeyError as exc:
        raise GatewayError(f"unknown payment gateway {name!r}") from exc
