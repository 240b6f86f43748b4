"""Quote jobs: thin wrappers that take ids and call one service; safe to run twice."""

from celery import shared_task

from billing_site import clock


@shared_task(name="quotes.tasks.quote_render_pdf", autoretry_for=(OSError,), retry_backoff=True, max_retries=3)
def quote_render_pdf(quote_id: int) -> str:
    """Render the PDF of a presented quote."""
    from quotes.services import quote_render_pdf as render

    return render(quote_id=quote_id).pdf.name


@shared_task(name="quotes.tasks.quotes_expire")
def quotes_expire(today: str | None = None) -> int:
    """Expire open quotes past their expiration date (daily)."""
    import datetime as dt

    from quotes.services import quotes_expire_due

    day = dt.date.fromisoformat(today) if today else clock.today()
    return quotes_expire_due(today=day)
