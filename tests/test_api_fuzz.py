"""A bounded API fuzz: every operation of the OpenAPI schema, with generated input, as a Finance user on
a small seeded dataset. Any 5xx, or a response that the schema does not describe (status code,
content type, headers, body), fails the test with the operation and the request that broke it.

Bounded to about 2 minutes on a 2-core machine: API_FUZZ_EXAMPLES examples per operation (default 10)
and API_FUZZ_SECONDS overall (default 150). On a machine so loaded that the budget runs out, the
operations left are not fuzzed and are listed in a warning, so the bound holds without a flaky failure.
"""

import json
import os
import time
import warnings
from datetime import date

import pytest
from django.core.wsgi import get_wsgi_application
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the dev extras")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# Real transactions: on PostgreSQL an error inside one request must not poison the next ones, as it
# would inside a test-wide transaction (production runs in autocommit too).
pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "10"))
BUDGET = float(os.environ.get("API_FUZZ_SECONDS", "150"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def _seed():
    """A small book: two accounts, a catalog, an activated contract billed and posted, a quote, a payment."""
    from invoicing import services as invoicing
    from invoicing.tests.factories import AccountFactory, activate, make_catalog
    from payments import services as payments

    catalog = make_catalog()
    seat = catalog.product("seat", price="1200.00", frequency=1)
    account = AccountFactory(name="Maison Verte", country="FR")
    AccountFactory(name="Atelier Bleu", country="FR")
    activate(catalog=catalog, products=[(seat, "2")], account=account, start=date(2025, 1, 1))
    run = invoicing.invoice_run_create(actor=None, target_date=date(2025, 2, 1), auto_post=True, send_documents=False, start=False)
    invoicing.invoice_run_execute(run=run)
    from invoicing.models import Invoice

    invoice = Invoice.objects.filter(status="posted").first()
    payments.payment_record(account=invoice.account, amount="10.00", currency=invoice.currency, received_date=date(2025, 2, 10),
                            method="bank_transfer", today=date(2025, 2, 10), reference="seed", auto_allocate=True)


def _summary(exc: BaseException) -> str:
    """The failing checks' first lines and the request to reproduce, not Hypothesis's whole report."""
    parts = [exc, *getattr(exc, "exceptions", ())]
    lines = []
    for part in parts:
        text = str(part).strip().splitlines()
        lines.extend(t for t in text[:3] if t.strip())
        lines.extend(t.strip() for t in text if t.strip().startswith("curl "))
    return "\n  ".join(dict.fromkeys(lines))[:2000]


def _schema():
    generated = SchemaGenerator().get_schema(request=None, public=True)
    raw = json.loads(OpenApiJsonRenderer().render(generated, renderer_context={}))
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = get_wsgi_application()
    return schema


def test_no_operation_answers_a_server_error_or_outside_its_schema(finance_user):
    _seed()
    token = Token.objects.create(user=finance_user).key
    headers = {"Authorization": f"Token {token}"}
    failures, skipped, cases = [], [], 0
    started = time.monotonic()
    for result in _schema().get_all_operations():
        operation = result.ok()
        if time.monotonic() - started > BUDGET:
            skipped.append(operation.label)
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - every operation is tried, then all reported
            failures.append(f"{operation.label}: {_summary(exc)}")
        cases += EXAMPLES
    elapsed = time.monotonic() - started
    print(f"API fuzz: {cases} cases at most, {elapsed:.0f} s, {len(failures)} failing operations, {len(skipped)} skipped")
    assert not failures, "\n\n".join(failures)
    if skipped:
        warnings.warn(f"API fuzz over its {BUDGET:.0f} s budget; not fuzzed: {skipped}", stacklevel=1)
