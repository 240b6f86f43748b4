"""Fast seeding for the benchmarks: COPY rows into the tables (seeding time is not measured)."""

import datetime as dt
from decimal import Decimal

from django.db import connection
from django.db.models import NOT_PROVIDED
from django.utils import timezone


def _default(field, now):
    if getattr(field, "auto_now_add", False) or getattr(field, "auto_now", False):
        return now
    if field.default is not NOT_PROVIDED or (field.empty_strings_allowed and not field.null and field.get_internal_type() in ("CharField", "TextField")):
        return field.get_default()
    if field.null:
        return None
    raise ValueError(f"{field.model.__name__}.{field.name} needs a value")


def copy_rows(model, rows: list[dict]) -> None:
    """COPY dict rows into the model's table; missing columns take the field default."""
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields]
    columns = [f.column for f in fields]
    sql = f"COPY {model._meta.db_table} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            values = []
            for f in fields:
                key = f.attname if f.attname in row else f.name
                value = row[key] if key in row else _default(f, now)
                if f.get_internal_type() == "JSONField" and value is not None:
                    import json

                    value = json.dumps(value)
                values.append(value)
            copy.write_row(values)


def reset_sequences(*models) -> None:
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))")


def seed_accounts_and_subscriptions(*, accounts: int, lines: int, start: dt.date, stdout=print) -> dict:
    """N accounts × L monthly subscriptions, each with one period due on `start`."""
    from catalog.models import BillingRule, LegalEntity, PriceBook, Product, TaxRate, TaxRule
    from contracts.models import Contract, Order, OrderProduct, ScheduleEntry, Subscription
    from customers.models import Account

    entity, _ = LegalEntity.objects.get_or_create(name="Bench SAS", defaults={"country": "FR", "currency": "EUR", "invoice_prefix": "B", "credit_note_prefix": "BC"})
    tax, _ = TaxRule.objects.get_or_create(name="Bench VAT")
    TaxRate.objects.get_or_create(tax_rule=tax, country="FR", legal_entity=None, defaults={"name": "VAT 20%", "rate_percent": Decimal("20")})
    rule, _ = BillingRule.objects.get_or_create(name="Bench monthly", defaults={"legal_entity": entity})
    book, _ = PriceBook.objects.get_or_create(name="Bench EUR", defaults={"currency": "EUR"})
    products = []
    for i in range(lines):
        product, _ = Product.objects.get_or_create(sku=f"BENCH-{i:02d}", defaults={
            "name": f"Bench service {i:02d}", "billing_rule": rule, "tax_rule": tax, "billing_frequency": 1})
        products.append(product)
    base = (Account.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    stdout(f"seeding {accounts:,} accounts × {lines} lines …")
    account_rows, order_rows, contract_rows, op_rows, sub_rows, entry_rows = [], [], [], [], [], []
    end = dt.date(start.year + 1, start.month, start.day)
    op_id = (OrderProduct.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    sub_id = (Subscription.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    for n in range(accounts):
        aid = base + n
        account_rows.append({"id": aid, "number": f"BEN-{aid:07d}", "name": f"Bench account {aid}", "country": "FR", "currency": "EUR",
                             "billing_emails": f"billing{aid}@bench.test"})
        order_rows.append({"id": aid, "number": f"BORD-{aid:07d}", "account_id": aid, "price_book_id": book.pk, "currency": "EUR",
                           "start_date": start, "status": "activated"})
        contract_rows.append({"id": aid, "number": f"BCTR-{aid:07d}", "account_id": aid, "order_id": aid, "price_book_id": book.pk,
                              "currency": "EUR", "start_date": start, "end_date": end, "term_months": 12})
        for i, product in enumerate(products):
            price = Decimal(1200 + 12 * i)
            op_rows.append({"id": op_id, "order_id": aid, "product_id": product.pk, "quantity": Decimal(1 + i % 3),
                            "list_unit_price": price, "net_unit_price": price, "start_date": start, "end_date": end})
            sub_rows.append({"id": sub_id, "contract_id": aid, "account_id": aid, "product_id": product.pk, "origin_id": op_id,
                             "charge_type": "recurring", "quantity": Decimal(1 + i % 3), "unit_price": price, "currency": "EUR",
                             "billing_frequency": 1, "billing_type": "advance", "period_boundary": "anniversary",
                             "day_count": "actual_days", "billing_rule_id": rule.pk, "legal_entity_id": entity.pk,
                             "tax_rule_id": tax.pk, "start_date": start, "end_date": end})
            amount = (price / 12 * (1 + i % 3)).quantize(Decimal("0.01"))
            entry_rows.append({"subscription_id": sub_id, "contract_id": aid, "account_id": aid, "source_order_id": aid, "kind": "charge",
                               "status": "pending", "period_start": start, "period_end": dt.date(start.year, start.month + 1, start.day) if start.month < 12 else dt.date(start.year + 1, 1, start.day),
                               "full_start": start, "full_end": dt.date(start.year, start.month + 1, start.day) if start.month < 12 else dt.date(start.year + 1, 1, start.day),
                               "bill_on": start, "quantity": Decimal(1 + i % 3), "unit_price": price, "price_term_months": 12,
                               "period_months": 1, "factor_numerator": 30, "factor_denominator": 30, "amount": amount, "currency": "EUR"})
            op_id += 1
            sub_id += 1
    for model, rows in ((Account, account_rows), (Order, order_rows), (Contract, contract_rows), (OrderProduct, op_rows),
                        (Subscription, sub_rows)):
        copy_rows(model, rows)
    entry_base = (ScheduleEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    for k, row in enumerate(entry_rows):
        row["id"] = entry_base + k
    copy_rows(ScheduleEntry, entry_rows)
    reset_sequences(Account, Order, Contract, OrderProduct, Subscription, ScheduleEntry)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"accounts": accounts, "lines": accounts * lines}
