from django.urls import path

from payments.views import operations, reports, timeline
from payments.views import payments as views

app_name = "payments"

urlpatterns = [
    path("", views.payment_index, name="index"),
    path("export.csv", views.payment_export, name="export"),
    path("new/", views.payment_create, name="create"),
    path("<int:pk>/", views.payment_view, name="detail"),
    path("<int:pk>/allocate/", views.payment_allocate, name="allocate"),
    path("<int:pk>/auto-allocate/", views.payment_auto_allocate, name="auto-allocate"),
    path("<int:pk>/unallocate/", views.payment_unallocate, name="unallocate"),
    path("<int:pk>/refund/", views.payment_refund, name="refund"),
    path("invoices/<int:pk>/", views.invoice_payments, name="invoice"),
    path("invoices/<int:pk>/charge/", views.invoice_charge, name="invoice-charge"),
    path("credit-notes/<int:pk>/", views.credit_note_view, name="credit-note"),
    path("accounts/<int:account_pk>/methods/", operations.methods, name="methods"),
    path("accounts/<int:account_pk>/statement/", reports.statement_page, name="statement"),
    path("accounts/<int:account_pk>/timeline/", timeline.account_timeline, name="timeline"),
    path("accounts/<int:account_pk>/statement.pdf", reports.statement_pdf, name="statement-pdf"),
    path("accounts/<int:account_pk>/statement/send/", reports.statement_send, name="statement-send"),
    path("runs/", operations.runs, name="runs"),
    path("runs/<int:pk>/", operations.run_detail, name="run"),
    path("dunning/", operations.dunning, name="dunning"),
    path("dunning/steps/new/", operations.dunning_step, name="dunning-step-create"),
    path("dunning/steps/<int:pk>/", operations.dunning_step, name="dunning-step"),
    path("bank/", operations.bank, name="bank"),
    path("bank/review/", operations.bank_review, name="bank-review"),
    path("bank/<int:pk>/", operations.bank_statement, name="bank-statement"),
    path("bank/<int:pk>/progress/", operations.bank_statement_progress, name="bank-statement-progress"),
    path("bank/<int:pk>/retry/", operations.bank_statement_retry, name="bank-statement-retry"),
    path("bank/lines/<int:pk>/resolve/", operations.bank_line_resolve, name="bank-line-resolve"),
    path("reports/", reports.reports, name="reports"),
    path("reports/aging.csv", reports.aging_export, name="aging-export"),
    path("reports/monthly.csv", reports.flows_export, name="flows-export"),
]
