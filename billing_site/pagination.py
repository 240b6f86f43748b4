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
