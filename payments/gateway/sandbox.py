"""A built-in gateway that behaves like a real one, for demos and tests.

Tokens decide the outcome, as test cards do at real gateways:

| token | outcome |
|---|---|
| `tok_visa`, `tok_mastercard`, `tok_amex` | approved |
| `tok_insufficient_funds` | declined, transient (retry later) |
| `tok_try_again` | declined, transient |
| `tok_declined` | declined, final |
| `tok_expired` | declined, final (expired card) |
| anything else | declined, final (invalid token) |

Each call is stored under its idempotency key in `GatewayOperation`: the same key returns the stored
result (also after a restart); the same key with other parameters raises `IdempotencyMismatch`.
Refunds and captures check what was charged or authorized, like a real gateway does.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q

from payments.gateway import GatewayError, GatewayResult, IdempotencyMismatch

APPROVED = {"tok_visa", "tok_mastercard", "tok_amex"}
TRANSIENT = {"tok_insufficient_funds": "insufficient_funds", "tok_try_again": "try_again_later"}
FINAL = {"tok_declined": "card_declined", "tok_expired": "expired_card"}
MESSAGES = {
    "insufficient_funds": "Insufficient funds.",
    "try_again_later": "The issuer asked to try again later.",
    "card_declined": "The card was declined.",
    "expired_card": "The card has expired.",
    "invalid_token": "Unknown payment method token.",
    "amount_too_large": "The amount is larger than what can be refunded or captured.",
    "unknown_transaction": "No such transaction.",
}
BRANDS = {"tok_visa": "Visa", "tok_mastercard": "Mastercard", "tok_amex": "American Express"}


class SandboxGateway:
    name = "sandbox"

    def authorize(self, *, token: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayResult:
        return self._call("authorize", idempotency_key, {"token": token, "amount": str(amount), "currency": currency},
                          lambda: self._by_token(token, amount, currency))

    def charge(self, *, token: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayResult:
        return self._call("charge", idempotency_key, {"token": token, "amount": str(amount), "currency": currency},
                          lambda: self._by_token(token, amount, currency))

    def capture(self, *, authorization_id: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayResult:
        def decide():
            auth = self._approved("authorize", authorization_id)
            if auth is None:
                return self._declined("unknown_transaction", amount, currency)
            captured = self._total("capture", authorization_id)
            if captured + amount > Decimal(auth.request["amount"]):
                return self._declined("amount_too_large", amount, currency)
            return GatewayResult(True, "", amount, currency)

        return self._call("capture", idempotency_key,
                          {"of": authorization_id, "amount": str(amount), "currency": currency}, decide)

    def refund(self, *, transaction_id: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayResult:
        def decide():
            original = self._approved("charge", transaction_id) or self._approved("capture", transaction_id)
            if original is None:
                return self._declined("unknown_transaction", amount, currency)
            if self._total("refund", transaction_id) + amount > Decimal(original.request["amount"]):
                return self._declined("amount_too_large", amount, currency)
            return GatewayResult(True, "", amount, currency)

        return self._call("refund", idempotency_key, {"of": transaction_id, "amount": str(amount), "currency": currency}, decide)

    # -- internals ---------------------------------------------------------------------------------

    @staticmethod
    def brand(token: str) -> str:
        return BRANDS.get(token, "")

    def _by_token(self, token: str, amount: Decimal, currency: str) -> GatewayResult:
        if token in APPROVED:
            return GatewayResult(True, "", amount, currency)
        if token in TRANSIENT:
            return self._declined(TRANSIENT[token], amount, currency, transient=True)
        return self._declined(FINAL.get(token, "invalid_token"), amount, currency)

    @staticmethod
    def _declined(code: str, amount: Decimal, currency: str, transient: bool = False) -> GatewayResult:
        return GatewayResult(False, "", amount, currency, code=code, message=MESSAGES[code], transient=transient)

    @staticmethod
    def _approved(operation: str, transaction_id: str):
        from payments.models import GatewayOperation

        op = GatewayOperation.objects.filter(operation=operation, transaction_id=transaction_id).first()
        return op if op is not None and op.result.get("approved") else None

    @staticmethod
    def _total(operation: str, of: str) -> Decimal:
        from payments.models import GatewayOperation

        rows = GatewayOperation.objects.filter(Q(operation=operation) & Q(request__of=of))
        return sum((Decimal(r.request["amount"]) for r in rows if r.result.get("approved")), Decimal("0"))

    def _call(self, operation: str, key: str, request: dict, decide) -> GatewayResult:
        from payments.models import GatewayOperation

        if not key:
            raise GatewayError("an idempotency key is required")
        from billing_site.money import round_money

        # Amounts are compared in the currency's minor unit, as a real gateway takes them (cents).
        request = {**request, "amount": str(round_money(request["amount"], request["currency"]))}
        existing = GatewayOperation.objects.filter(idempotency_key=key).first()
        if existing is None:
            result = decide()
            txn = "sbx_" + hashlib.sha256(key.encode()).hexdigest()[:24]
            result = GatewayResult(**{**result.as_dict(), "amount": result.amount, "transaction_id": txn})
            try:
                # Two callers racing with one key: the UNIQUE key lets one row in; the other reads it.
                with transaction.atomic():
                    GatewayOperation.objects.create(
                        idempotency_key=key, operation=operation, request=request, result=result.as_dict(), transaction_id=txn
                    )
                return result
            except IntegrityError:
                existing = GatewayOperation.objects.get(idempotency_key=key)
        if existing.operation != operation or existing.request != request:
            raise IdempotencyMismatch(f"idempotency key {key!r} was used for another request")
        return GatewayResult.from_dict(existing.result)
