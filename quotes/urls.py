from django.urls import path

from quotes import views

app_name = "quotes"

urlpatterns = [
    path("", views.quote_list, name="index"),
    path("export.csv", views.quote_export, name="export"),
    path("new/", views.quote_create, name="create"),
    path("<int:pk>/", views.quote_detail, name="detail"),
    path("<int:pk>/edit/", views.quote_edit, name="edit"),
    path("<int:pk>/delete/", views.quote_delete, name="delete"),
    path("<int:pk>/credit/", views.quote_credit_panel, name="credit"),
    path("<int:pk>/products/", views.product_search, name="product-search"),
    path("<int:pk>/lines/add/", views.line_add, name="line-add"),
    path("<int:pk>/lines/<int:line_pk>/", views.line_update, name="line-update"),
    path("<int:pk>/lines/<int:line_pk>/remove/", views.line_remove, name="line-remove"),
    path("<int:pk>/submit/", views.quote_submit, name="submit"),
    path("<int:pk>/approve/", views.quote_approve, name="approve"),
    path("<int:pk>/reject-approval/", views.quote_reject_approval, name="reject-approval"),
    path("<int:pk>/revise/", views.quote_revise, name="revise"),
    path("<int:pk>/present/", views.quote_present, name="present"),
    path("<int:pk>/reject/", views.quote_reject, name="reject"),
    path("<int:pk>/clone/", views.quote_clone, name="clone"),
    path("<int:pk>/pdf/", views.quote_pdf, name="pdf"),
]
