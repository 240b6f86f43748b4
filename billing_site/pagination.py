from rest_framework import pagination

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


class Pagination(pagination.PageNumberPagination):
    """Every API list: `?page=`, `?page_size=` (default 50, at most 200; a larger size is cut to 200)."""

    page_size = DEFAULT_PAGE_SIZE
    page_size_query_param = "page_size"
    page_size_query_description = f"Items per page: default {DEFAULT_PAGE_SIZE}, at most {MAX_PAGE_SIZE} (larger is cut to {MAX_PAGE_SIZE})."
    max_page_size = MAX_PAGE_SIZE

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
