from django.urls import path

from invoicing import views

app_name = "invoicing"

urlpatterns = [
    path("", views.invoice_list, name="index"),
    path("export.csv", views.invoice_export, name="export"),
    path("<int:pk>/", views.invoice_detail, name="detail"),
    path("<int:pk>/pdf/", views.invoice_pdf, name="pdf"),
    path("<int:pk>/post/", views.invoice_post, name="post"),
    path("<int:pk>/discard/", views.invoice_discard, name="discard"),
    path("<int:pk>/regenerate/", views.invoice_regenerate, name="regenerate"),
    path("<int:pk>/cancel-rebill/", views.invoice_cancel_rebill, name="cancel-rebill"),
    path("<int:pk>/credit/", views.invoice_credit, name="credit"),
    path("<int:pk>/send/", views.invoice_send, name="send"),
    path("bulk/", views.invoice_bulk, name="bulk"),
    path("bulk/<int:pk>/", views.bulk_job_detail, name="bulk-job"),
    path("bulk/<int:pk>/progress/", views.bulk_job_progress, name="bulk-job-progress"),
    path("credit-notes/<int:pk>/send/", views.credit_note_send, name="credit-note-send"),
    path("credit-notes/", views.credit_note_list, name="credit-notes"),
    path("credit-notes/export.csv", views.credit_note_export, name="credit-notes-export"),
    path("credit-notes/<int:pk>/", views.credit_note_detail, name="credit-note-detail"),
    path("credit-notes/<int:pk>/pdf/", views.credit_note_pdf, name="credit-note-pdf"),
    path("credit-notes/<int:pk>/post/", views.credit_note_post, name="credit-note-post"),
    path("credit-notes/<int:pk>/discard/", views.credit_note_discard, name="credit-note-discard"),
    path("runs/", views.run_list, name="runs"),
    path("runs/new/", views.run_create, name="run-create"),
    path("runs/<int:pk>/", views.run_detail, name="run-detail"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run-progress"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run-cancel"),
    path("runs/<int:pk>/resume/", views.run_resume, name="run-resume"),
    path("runs/<int:pk>/post-drafts/", views.run_post_drafts, name="run-post-drafts"),
    path("preview/", views.preview, name="preview"),
    path("why-not-billed/", views.why_not_billed, name="why"),
    path("schedules/", views.schedule_list, name="schedules"),
    path("schedules/new/", views.schedule_edit, name="schedule-create"),
    path("schedules/<int:pk>/", views.schedule_edit, name="schedule-edit"),
    path("usage/", views.usage_upload, name="usage"),
]
