from rest_framework import pagination


class Pagination(pagination.PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 500


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
    page.page_sizes = PAGE_SIZES
    return page
