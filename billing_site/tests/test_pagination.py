"""API lists: the count is exact up to Pagination.count_cap items and null (with `count_capped_at`) beyond,
without counting the whole table; `next`/`previous` come from reading one row more than a page."""

import pytest

from billing_site.pagination import COUNT_CAP, Pagination
from customers.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/accounts/"


@pytest.fixture
def five_accounts():
    return [AccountFactory(name=f"Pager {n}") for n in range(5)]


def meta(body):
    return {key: value for key, value in body.items() if key != "results"}


def test_a_short_list_has_its_exact_count_and_no_links(finance_api):
    AccountFactory.create_batch(3)
    body = finance_api.get(URL).json()
    assert meta(body) == {"count": 3, "count_capped_at": None, "next": None, "previous": None}
    assert len(body["results"]) == 3


def test_an_empty_list_counts_zero(finance_api):
    assert meta(finance_api.get(URL).json()) == {"count": 0, "count_capped_at": None, "next": None, "previous": None}


def test_pages_link_to_their_neighbours_with_the_exact_count(finance_api, five_accounts):
    first = finance_api.get(URL, {"page_size": 2, "ordering": "name"}).json()
    assert meta(first) == {"count": 5, "count_capped_at": None, "previous": None,
                           "next": "http://testserver/api/v1/accounts/?ordering=name&page=2&page_size=2"}
    second = finance_api.get(first["next"]).json()
    assert meta(second) == {"count": 5, "count_capped_at": None,
                            "previous": "http://testserver/api/v1/accounts/?ordering=name&page_size=2",
                            "next": "http://testserver/api/v1/accounts/?ordering=name&page=3&page_size=2"}
    third = finance_api.get(second["next"]).json()
    assert meta(third) == {"count": 5, "count_capped_at": None, "next": None,
                           "previous": "http://testserver/api/v1/accounts/?ordering=name&page=2&page_size=2"}
    names = [a["name"] for page in (first, second, third) for a in page["results"]]
    assert names == ["Pager 0", "Pager 1", "Pager 2", "Pager 3", "Pager 4"]


def test_above_the_cap_the_count_is_null_and_capped(finance_api, five_accounts, monkeypatch):
    monkeypatch.setattr(Pagination, "count_cap", 3)
    first = finance_api.get(URL, {"page_size": 2, "ordering": "name"}).json()
    assert meta(first) == {"count": None, "count_capped_at": 3, "previous": None,
                           "next": "http://testserver/api/v1/accounts/?ordering=name&page=2&page_size=2"}
    assert [a["name"] for a in first["results"]] == ["Pager 0", "Pager 1"]
    # the last page reaches the end: its count is known exactly, whatever the cap
    last = finance_api.get(URL, {"page_size": 2, "ordering": "name", "page": 3}).json()
    assert meta(last) == {"count": 5, "count_capped_at": None, "next": None,
                          "previous": "http://testserver/api/v1/accounts/?ordering=name&page=2&page_size=2"}
    assert [a["name"] for a in last["results"]] == ["Pager 4"]


def test_exactly_the_cap_is_still_counted(finance_api, five_accounts, monkeypatch):
    monkeypatch.setattr(Pagination, "count_cap", 5)
    assert meta(finance_api.get(URL, {"page_size": 2}).json())["count"] == 5


def test_the_count_never_reads_more_than_the_cap(finance_api, five_accounts, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    monkeypatch.setattr(Pagination, "count_cap", 3)
    with CaptureQueriesContext(connection) as queries:
        finance_api.get(URL, {"page_size": 2})
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(*)" in q["sql"]]
    assert len(counts) == 1 and counts[0].endswith("LIMIT 4) subquery")


def test_the_last_page(finance_api, five_accounts, monkeypatch):
    body = finance_api.get(URL, {"page_size": 2, "page": "last", "ordering": "name"}).json()
    assert (body["count"], [a["name"] for a in body["results"]]) == (5, ["Pager 4"])
    monkeypatch.setattr(Pagination, "count_cap", 3)
    response = finance_api.get(URL, {"page_size": 2, "page": "last"})
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "The last page is not known above 3 items: narrow the list with filters."


@pytest.mark.parametrize("page", ["0", "-1", "abc", "4", "last2", "9635651535683490794176512"])
def test_a_page_out_of_range_is_not_found(finance_api, five_accounts, page):
    response = finance_api.get(URL, {"page_size": 2, "page": page})
    assert (response.status_code, response.json()["error"]["message"]) == (404, "Invalid page.")


def test_the_schema_documents_the_capped_count():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    page = schema["components"]["schemas"]["PaginatedAccountList"]
    assert page["required"] == ["count", "count_capped_at", "next", "previous", "results"]
    assert (page["properties"]["count"]["nullable"], page["properties"]["count_capped_at"]["nullable"]) == (True, True)
    assert COUNT_CAP == 10_000
