"""The FEC as an HTTP download, shared by the page and the API."""

import datetime as dt

from django.http import StreamingHttpResponse

from accounting import selectors
from catalog.models import LegalEntity


def fec_response(*, legal_entity: LegalEntity, start: dt.date, end: dt.date) -> StreamingHttpResponse:
    """The FEC of `[start, end)` streamed as `<SIREN>FEC<YYYYMMDD>.txt` (memory stays flat)."""
    response = StreamingHttpResponse(
        selectors.fec_chunks(legal_entity=legal_entity, start=start, end=end), content_type="text/plain; charset=utf-8"
    )
    name = selectors.fec_filename(legal_entity=legal_entity, year_end=end - dt.timedelta(days=1))
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
