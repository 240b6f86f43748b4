"""Bank matching reads: what a batch of statement lines names, found with a few indexed queries.

One query per batch finds every invoice whose number appears in a reference (the UPPER(number)
index), one finds every account whose name or legal name appears, word for word, in a counterparty
(the LOWER(name) / LOWER(legal_name) indexes, probed with the counterparty's word sequences), and one
finds the open invoices of the named accounts with the lines' amounts (the open-invoices index). Only
a line that named nobody asks one more indexed question: an account whose name *contains* the
counterparty (a trigram index on PostgreSQL; a scan of the names on SQLite, the small embedded
database), or open invoices with its amount (the open-amount index). Nothing reads every invoice.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Q
from django.db.models.functions import Lower, Upper

from customers.models import Account
from invoicing.models import Invoice

TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/_.]*[A-Za-z0-9]")
EDGE = ".,;:()[]{}\"'"
MAX_WORDS = 6  # the longest account name probed, in words
CHUNK = 900  # values per IN (...), under every database's parameter limit
CANDIDATES = 10


def reference_tokens(reference: str) -> set[str]:
    """The words of a reference that could be an invoice number, upper-cased."""
    return {t.upper() for t in TOKEN.findall(reference or "")}


def normalize_name(text: str) -> str:
    """Lower case, single spaces: how names are compared."""
    return " ".join((text or "").split()).lower()


def name_probes(counterparty: str) -> set[str]:
    """Every run of up to MAX_WORDS consecutive words of the counterparty (≥ 4 characters), and the whole
    text (≥ 3): "VIR SEPA BOULANGERIES MARTIN SAS" probes "boulangeries martin", "boulangeries martin sas"…"""
    name = normalize_name(counterparty)
    probes = {name} if len(name) >= 3 else set()
    raw = name.split()
    for words in (raw, [w.strip(EDGE) for w in raw if w.strip(EDGE)]):
        for i in range(len(words)):
            for j in range(i + 1, min(len(words), i + MAX_WORDS) + 1):
                probe = " ".join(words[i:j])
                if len(probe) >= 4:
                    probes.add(probe)
    return probes


def _chunks(values: Iterable, size: int = CHUNK):
    values = list(values)
    for k in range(0, len(values), size):
        yield values[k:k + size]


def invoices_by_number(tokens: Iterable[str]) -> dict[str, list[Invoice]]:
    """Posted invoices whose number (any case) is one of the tokens, by upper-cased number."""
    found: dict[str, list[Invoice]] = defaultdict(list)
    for chunk in _chunks(set(tokens)):
        qs = (Invoice.objects.annotate(number_upper=Upper("number"))
              .filter(status=Invoice.Status.POSTED, number_upper__in=chunk).order_by("due_date", "id"))
        for invoice in qs:
            found[invoice.number_upper].append(invoice)
    return found


def accounts_by_name(probes: Iterable[str]) -> dict[str, set[int]]:
    """Accounts whose name or legal name, lower-cased, is exactly one of the probes, by probe."""
    found: dict[str, set[int]] = defaultdict(set)
    for chunk in _chunks(set(probes)):
        rows = (Account.objects.annotate(name_lower=Lower("name"), legal_lower=Lower("legal_name"))
                .filter(Q(name_lower__in=chunk) | Q(legal_lower__in=chunk)).order_by().values_list("pk", "name_lower", "legal_lower"))
        for pk, name, legal in rows:
            for value in (name, legal):
                if value in chunk:
                    found[value].add(pk)
    return found


def accounts_containing(counterparty: str, *, limit: int = 3) -> list[int]:
    """Accounts whose name or legal name contains the counterparty (≥ 3 characters), at most `limit`:
    "DUFRESNE" finds "Atelier Dufresne". On PostgreSQL the trigram indexes answer it."""
    name = normalize_name(counterparty)
    if len(name) < 3:
        return []
    qs = (Account.objects.annotate(name_lower=Lower("name"), legal_lower=Lower("legal_name"))
          .filter(Q(name_lower__contains=name) | Q(legal_lower__contains=name)).order_by())
    # No ORDER BY and no LIMIT: with either, PostgreSQL walks the table hoping to stop early instead of
    # asking the trigram indexes (10 ms against 90 ms at 100,000 accounts).
    return sorted(qs.values_list("pk", flat=True))[:limit]


def open_invoices_with_amounts(pairs: Iterable[tuple[int, str, Decimal]]) -> dict[tuple[int, str, Decimal], list[Invoice]]:
    """Open posted invoices of these (account, currency, open amount) triples, oldest due first."""
    pairs = set(pairs)
    found: dict[tuple[int, str, Decimal], list[Invoice]] = defaultdict(list)
    for chunk in _chunks(pairs, 400):
        accounts = {a for a, _c, _m in chunk}
        amounts = {m for _a, _c, m in chunk}
        qs = (Invoice.objects.filter(status=Invoice.Status.POSTED, open_amount__gt=0, account_id__in=accounts,
                                     open_amount__in=amounts).order_by("due_date", "id"))
        for invoice in qs:
            key = (invoice.account_id, invoice.currency, invoice.open_amount)
            if key in pairs:
                found[key].append(invoice)
    return found


def open_invoices_of_account(*, account_id: int, currency: str, limit: int = CANDIDATES) -> list[Invoice]:
    """An account's open posted invoices in a currency, newest first (the candidates shown for review)."""
    return list(Invoice.objects.filter(status=Invoice.Status.POSTED, open_amount__gt=0, account_id=account_id,
                                       currency=currency).order_by("-id")[:limit])


def open_invoices_with_amount(*, currency: str, amount: Decimal, limit: int = CANDIDATES) -> list[Invoice]:
    """Open posted invoices of any account with exactly this open amount, newest first."""
    return list(Invoice.objects.filter(status=Invoice.Status.POSTED, open_amount__gt=0, currency=currency,
                                       open_amount=amount).order_by("-id")[:limit])
