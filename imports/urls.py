from django.urls import path

from imports import views

app_name = "imports"

urlpatterns = [
    path("", views.index, name="index"),
    path("templates/<str:kind>.<str:fmt>", views.template, name="template"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/progress/", views.progress, name="progress"),
    path("<int:pk>/mapping/", views.mapping, name="mapping"),
    path("<int:pk>/commit/", views.commit, name="commit"),
    path("<int:pk>/errors.csv", views.errors_csv, name="errors-csv"),
]
