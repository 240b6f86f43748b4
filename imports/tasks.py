"""Thin tasks: ids in, one service call."""

from celery import shared_task


@shared_task(name="imports.execute", acks_late=True)
def import_execute_task(batch_id: int) -> int:
    from imports.services import import_execute

    batch = import_execute(batch_id=batch_id)
    return batch.rows_done
