"""The FEC's fast path (PostgreSQL writes the lines, a server-side cursor streams them) prints the same bytes as the
portable path (Python formats them), on the same data, awkward data included."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.db import connection

from accounting.models import ChartAccount, FinancePeriod, JournalEntry
from accounting.selectors import FEC_HEADER, fec_chunks, fec_chunks_postgresql, fec_lines_portable
from accounting.services import books_process, period_close
from accounting.services.journal import _write

from .factories import AccountFactory, legal_entity, posted_invoice

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]
JAN1 = dt.date(2025, 1, 1)


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the fast path is PostgreSQL's")


def _entry(entity, *, day, currency, lines, label="Manual", piece="OD-1"):
    period = FinancePeriod.objects.get(legal_entity=entity, start_date=day.replace(day=1))
    entry = JournalEntry(
        legal_entity=entity, period=period, journal=JournalEntry.Journal.MISC, kind=JournalEntry.Kind.REVERSAL,
        source_key=f"test:{label}:{day}", entry_date=day, piece_ref=piece, piece_date=None, label=label, currency=currency,
    )
    _write([(entry, lines)])
    return entry


def test_fast_and_portable_paths_write_the_same_bytes():
    entity = legal_entity()
    odd = AccountFactory(name="  Durand\t& Fils\r\n SARL\u00a0 ", number="C\t 042")
    plain = AccountFactory(name="Acme SA")
    posted_invoice(odd, [("365.00", JAN1, dt.date(2026, 1, 1), None)], invoice_date=JAN1)
    posted_invoice(plain, [("99.99", JAN1, dt.date(2025, 2, 1), None), ("0.01", JAN1, dt.date(2025, 4, 1), None)],
                   invoice_date=dt.date(2025, 1, 15))
    books_process(today=JAN1)
    period_close(period=FinancePeriod.objects.get(legal_entity=entity, name="2025-01"), actor=None, today=dt.date(2025, 2, 1))
    chart = {a.code: a for a in ChartAccount.objects.filter(legal_entity=entity)}
    ChartAccount.objects.filter(pk=chart["706"].pk).update(name="Prestations\tde  services ")
    # A foreign-currency entry with amounts that round half-up at the cent, and an entry with no line
    # (a zero invoice journals none): it takes no EcritureNum in either path.
    _entry(entity, day=dt.date(2025, 3, 3), currency="USD", piece="  FX\t7 ",
           lines=[(chart["512"], None, D("10.005"), D("0")), (chart["411"], plain.pk, D("0"), D("10.005"))])
    _entry(entity, day=dt.date(2025, 3, 2), currency="EUR", label="Zero", lines=[])

    start, end = JAN1, dt.date(2026, 1, 1)
    fast = b"".join(fec_chunks_postgresql(legal_entity=entity, start=start, end=end))
    portable = "".join(fec_lines_portable(legal_entity=entity, start=start, end=end)).encode("utf-8")
    assert fast == portable
    lines = fast.decode("utf-8").split("\r\n")
    assert lines[-1] == "" and all("\n" not in line for line in lines)
    assert len(lines) - 1 == 3 + 3 + 2 + 2  # two invoices, January's recognition, the USD entry
    by_aux = [line.split("\t") for line in lines if "\tC 042\t" in line]
    assert [(r[6], r[7]) for r in by_aux] == [("C 042", "Durand & Fils SARL")]
    fx = [line.split("\t") for line in lines if "\tUSD" in line]
    assert [(r[2], r[4], r[5], r[8], r[11], r[12], r[16], r[17]) for r in fx] == [
        ("4", "512", "Banque", "FX 7", "10,01", "0,00", "10,01", "USD"),
        ("4", "411", "Clients", "FX 7", "0,00", "10,01", "-10,01", "USD"),
    ]
    assert {line.split("\t")[5] for line in lines if "\t706\t" in line} == {"Prestations de services"}
    whole = b"".join(fec_chunks(legal_entity=entity, start=start, end=end))
    assert whole == FEC_HEADER + fast


def test_a_download_stopped_halfway_leaves_the_connection_usable():
    posted_invoice(AccountFactory(), [("365.00", JAN1, dt.date(2026, 1, 1), None)], invoice_date=JAN1)
    books_process(today=JAN1)
    chunks = fec_chunks(legal_entity=legal_entity(), start=JAN1, end=dt.date(2026, 1, 1))
    assert next(chunks) == FEC_HEADER
    assert next(chunks).startswith(b"VE\tVentes\t1\t20250101\t411\t")
    chunks.close()  # the client went away: the cursor is closed and its transaction rolled back
    assert JournalEntry.objects.count() == 1
