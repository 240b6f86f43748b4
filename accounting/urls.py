from django.urls import path

from accounting import views

app_name = "accounting"

urlpatterns = [
    path("", views.index, name="index"),
    path("process/", views.process, name="process"),
    path("periods/<int:pk>/close/", views.period_close, name="close"),
    path("periods/<int:pk>/reopen/", views.period_reopen, name="reopen"),
    path("periods/<int:pk>/trial-balance/", views.trial_balance, name="trial-balance"),
    path("periods/<int:pk>/trial-balance.csv", views.trial_balance_export, name="trial-balance-export"),
    path("periods/<int:pk>/journal/", views.journal, name="journal"),
    path("entries/<int:pk>/", views.entry_detail, name="entry"),
    path("chart/", views.chart, name="chart"),
    path("chart/<int:pk>/", views.chart_edit, name="chart-edit"),
    path("exports/", views.exports, name="exports"),
    path("exports/fec.txt", views.fec_export, name="fec"),
    path("exports/journal.csv", views.journal_export, name="journal-export"),
    path("revenue/", views.revenue, name="revenue"),
    path("revenue/revenue.csv", views.revenue_export, name="revenue-export"),
    path("revenue/waterfall.csv", views.waterfall_export, name="waterfall-export"),
    path("revenue/mrr.csv", views.mrr_export, name="mrr-export"),
    path("revenue/mrr-by.csv", views.mrr_breakdown_export, name="mrr-breakdown-export"),
]
