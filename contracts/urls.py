from django.urls import path

from contracts import views

app_name = "contracts"

urlpatterns = [
    path("", views.contract_list, name="index"),
    path("export.csv", views.contract_export, name="export"),
    path("<int:pk>/", views.contract_detail, name="detail"),
    path("<int:pk>/amend/", views.contract_amend, name="amend"),
    path("<int:pk>/renew/", views.contract_renew, name="renew"),
    path("orders/", views.order_list, name="orders"),
    path("orders/new/", views.order_create, name="order-create"),
    path("orders/<int:pk>/", views.order_detail, name="order-detail"),
    path("orders/<int:pk>/products/", views.order_product_add, name="order-product-add"),
    path("orders/<int:pk>/products/<int:product_pk>/remove/", views.order_product_remove, name="order-product-remove"),
    path("orders/<int:pk>/activate/", views.order_activate, name="order-activate"),
    path("quotes/<int:pk>/accept/", views.quote_accept, name="quote-accept"),
    path("deliveries/", views.delivery_list, name="deliveries"),
    path("deliveries/<int:pk>/deliver/", views.order_product_deliver, name="deliver"),
]
