from django.db.models import QuerySet
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from rest_framework import pagination
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
COUNT_CAP = 10_000
MAX_ROW = 2**63 - 1  # OFFSET/LIMIT are 64-bit integers in SQL


class Pagination(pagination.PageNumberPagination):
    """Every API list: `?page=`, `?page_size=` (default 50, at most 200; a larger size is cut to 200).

    The answer is `{"count", "count_capped_at", "next", "previous", "results"}`. Counting a whole
    table costs more than reading a page of it, so at most COUNT_CAP + 1 matching rows are counted:
    `count` is the exact number of matching items, or null when more than COUNT_CAP match and the
    page does not reach the end (`count_capped_at` is then COUNT_CAP; it is null when `count` is
    exact). A page is read with one row more than its size, so `next` needs no count at all.
    """

    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    page_size_query_description = f"Items per page: default {DEFAULT_PAGE_SIZE}, at most {MAX_PAGE_SIZE} (larger is cut to {MAX_PAGE_SIZE})."
    max_page_size = MAX_PAGE_SIZE
    count_cap = COUNT_CAP

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        size = self.get_page_size(request)
        raw = request.query_params.get(self.page_query_param) or "1"
        count = None
        if raw in self.last_page_strings:
            count = self.capped_count(queryset)
            if count is None:
                raise NotFound(_("The last page is not known above %(cap)s items: narrow the list with filters.")
                               % {"cap": number_format(self.count_cap, force_grouping=True)})
            number = max(1, -(-count // size))
        else:
            try:
                number = int(raw)
            except (TypeError, ValueError):
                raise NotFound(self.invalid_page_message) from None
        offset = (number - 1) * size
        if number < 1 or offset + size + 1 > MAX_ROW:  # no row lies beyond what the database can number
            raise NotFound(self.invalid_page_message)
        rows = list(queryset[offset:offset + size + 1])  # one more than a page: is there a next one?
        if not rows and number > 1:
            raise NotFound(self.invalid_page_message)
        self.number, self.has_next = number, len(rows) > size
        rows = rows[:size]
        if count is None:
            if not self.has_next:
                count = offset + len(rows)  # this page reaches the end: the count is exact
            elif offset + len(rows) < self.count_cap:
                count = self.capped_count(queryset)
        self.count = count
        return rows

    def capped_count(self, queryset) -> int | None:
        """How many items `queryset` holds, or None when more than `count_cap`: counts at most
        count_cap + 1 rows (`SELECT COUNT(*) FROM (SELECT … LIMIT cap + 1)`)."""
        if isinstance(queryset, QuerySet):
            n = queryset.order_by()[:self.count_cap + 1].count()
        else:
            n = len(queryset)
        return n if n <= self.count_cap else None

    def get_paginated_response(self, data):
        return Response({
            "count": self.count,
            "count_capped_at": None if self.count is not None else self.count_cap,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
            "results": data,
        })

    def get_next_link(self):
        if not self.has_next:
            return None
        return replace_query_param(self.request.build_absolute_uri(), self.page_query_param, self.number + 1)

    def get_previous_link(self):
        if self.number <= 1:
            return None
        url = self.request.build_absolute_uri()
        if self.number == 2:
            return remove_query_param(url, self.page_query_param)
        return replace_query_param(url, self.page_query_param, self.number - 1)

    def get_html_context(self):
        return {"previous_url": self.get_previous_link(), "next_url": self.get_next_link(), "page_links": []}

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        response["required"] = ["count", "count_capped_at", "next", "previous", "results"]
        properties = response["properties"]
        properties["count"] = {
            "type": "integer", "nullable": True, "example": 123,
            "description": f"The exact number of matching items; null when more than {COUNT_CAP:,} match "
                           "(and this page is not the last).",
        }
        properties["count_capped_at"] = {
            "type": "integer", "nullable": True, "example": None,
            "description": f"{COUNT_CAP} when `count` is null (more items match than are counted), else null.",
        }
        response["properties"] = {key: properties[key] for key in ("count", "count_capped_at", "next", "previous", "results")}
        return response

    def get_schema_operation_parameters(self, view):
        params = super().get_schema_operation_parameters(view)
        for param in params:
            if param["name"] == self.page_size_query_param:
                param["schema"] = {**param["schema"], "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE}
        return params


# --- pages of a list ----------------------------------------------------------------------------

PAGE_SIZES = (25, 50, 100, 200)


def page_of(request, items, per_page: int = 25):
    """The requested page of `items`, at the page size the user chose (`?page_size=`, one of
    PAGE_SIZES; anything else falls back to `per_page`). The shared template shows page numbers
    and the size choice."""
    from django.core.paginator import Paginator

    raw = request.GET.get("page_size", "")
    if raw.isdigit() and int(raw) in PAGE_SIZES:
        per_page = int(raw)
    page = Paginator(items, per_page).get_page(request.GET.get("page"))
    page.page_sizes = PAGE_SIZES  # type: ignore[attr-defined]  # an extra attribute the shared template reads
    return page
