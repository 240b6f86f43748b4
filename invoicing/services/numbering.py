"""Gapless numbers: a counter row per legal entity and document type, locked in the posting transaction."""

from django.db.models import F

from catalog.models import LegalEntity
from invoicing.models import DocumentType, NumberSeries


def series_ensure(*, legal_entity_id: int, document_type: str) -> NumberSeries:
    """The series row, created on first use with the legal entity's prefix."""
    series = NumberSeries.objects.filter(legal_entity_id=legal_entity_id, document_type=document_type).first()
    if series is not None:
        return series
    entity = LegalEntity.objects.get(pk=legal_entity_id)
    prefix = entity.invoice_prefix if document_type == DocumentType.INVOICE else entity.credit_note_prefix
    series, _created = NumberSeries.objects.get_or_create(
        legal_entity_id=legal_entity_id, document_type=document_type, defaults={"prefix": prefix}
    )
    return series


def numbers_take(*, legal_entity_id: int, document_type: str, count: int = 1) -> tuple[NumberSeries, int]:
    """Lock the series and take `count` consecutive numbers; returns (series, first number).

    Call inside the posting transaction, as late as possible: the row stays locked until commit, so
    concurrent posters queue here and a rolled-back posting gives its numbers back (no gap).
    """
    series_ensure(legal_entity_id=legal_entity_id, document_type=document_type)
    series = NumberSeries.objects.select_for_update().get(legal_entity_id=legal_entity_id, document_type=document_type)
    first = series.next_number
    NumberSeries.objects.filter(pk=series.pk).update(next_number=F("next_number") + count)
    series.next_number = first + count
    return series, first
