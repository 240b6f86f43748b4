"""Benchmark: size and latency of the API's list pages (page 1, default page size), in process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/recur_scale .venv/bin/python bench/api_list.py --requests 200

Works on any database with data in it (`manage.py seed_demo`, or bench/invoice_run.py's). Each list is
requested through Django's test client as a Finance user (session auth, no network, no server): the
figures are the application's own cost per request (routing, auth, queries, serializing, JSON).
"""

import argparse
import statistics
import sys
import time

import _env  # noqa: F401 - the project on sys.path, the benchmark settings

TARGET_BYTES = 30 * 1024
TARGET_P95_MS = 50.0
LISTS = ["/api/v1/invoices/", "/api/v1/invoices/?expand=lines", "/api/v1/credit-notes/", "/api/v1/quotes/",
         "/api/v1/orders/", "/api/v1/contracts/", "/api/v1/payment-runs/", "/api/v1/bank-statements/"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=100, help="requests per list (after 5 warm-up ones)")
    parser.add_argument("--path", action="append", help="a list path to measure (repeatable); default: the main lists")
    args = parser.parse_args()

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from billing_site.roles import Role

    user = get_user_model().objects.filter(groups__name=Role.FINANCE.value, is_active=True).first()
    if user is None:
        sys.exit("No active Finance user: run `manage.py seed_demo` first.")
    client = Client(HTTP_ACCEPT="application/json")
    client.force_login(user)
    print(f"{'list page 1':<36} {'bytes':>9} {'items':>6} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>7}")
    for path in args.path or LISTS:
        for _ in range(5):
            response = client.get(path)
        if response.status_code != 200:
            print(f"{path:<36} answered {response.status_code}")
            continue
        size = len(response.content)
        items = len(response.json()["results"])
        times = []
        for _ in range(args.requests):
            start = time.perf_counter()
            client.get(path)
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p50 = statistics.median(times)
        p95 = times[int(len(times) * 0.95) - 1]
        print(f"{path:<36} {size:>9,} {items:>6} {p50:>8.1f} {p95:>8.1f} {1000 / statistics.mean(times):>7.0f}")
    print(f"target for /api/v1/invoices/: ≤ {TARGET_BYTES:,} bytes, p95 ≤ {TARGET_P95_MS:.0f} ms")


if __name__ == "__main__":
    main()
