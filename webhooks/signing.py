"""The `Recur-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`.

The timestamp is signed with the body, so a receiver that refuses signatures older than a few
minutes (TOLERANCE_SECONDS) cannot be fed a replayed request. `signature_verify` is the reference
receiver code, copied verbatim into docs/api.md.
"""

import hashlib
import hmac
import time

SIGNATURE_HEADER = "Recur-Signature"
TOLERANCE_SECONDS = 300


def signature_header(*, secret: str, body: bytes, timestamp: int) -> str:
    """The header value for one request."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def signature_verify(secret: str, body: bytes, header: str, tolerance: int = TOLERANCE_SECONDS, now: float | None = None) -> bool:
    """True if `header` signs `body` with `secret` and is at most `tolerance` seconds old."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))
