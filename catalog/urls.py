from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.product_list, name="index"),
    path("export.csv", views.product_export, name="export"),
    path("products/new/", views.product_create, name="product-create"),
    path("products/<int:pk>/", views.product_detail, name="product-detail"),
    path("products/<int:pk>/edit/", views.product_edit, name="product-edit"),
    path("products/<int:pk>/preview/", views.pricing_preview, name="pricing-preview"),
    path("products/<int:pk>/prices/new/", views.entry_create, name="entry-create"),
    path("products/<int:pk>/prices/<int:entry_pk>/edit/", views.entry_edit, name="entry-edit"),
    path("price-books/", views.price_book_list, name="price-books"),
    path("price-books/new/", views.price_book_create, name="price-book-create"),
    path("price-books/<int:pk>/", views.price_book_detail, name="price-book-detail"),
    path("price-books/<int:pk>/edit/", views.price_book_edit, name="price-book-edit"),
    path("tax-rules/", views.tax_rule_list, name="tax-rules"),
    path("tax-rules/new/", views.tax_rule_create, name="tax-rule-create"),
    path("tax-rules/<int:pk>/edit/", views.tax_rule_edit, name="tax-rule-edit"),
]

for _kind in views.REFERENCE:
    urlpatterns += [
        path(f"{_kind}/", views.reference_list, {"kind": _kind}, name=_kind),
        path(f"{_kind}/new/", views.reference_create, {"kind": _kind}, name=f"{_kind}-create"),
        path(f"{_kind}/<int:pk>/edit/", views.reference_edit, {"kind": _kind}, name=f"{_kind}-edit"),
    ]
