"""Reads for the import pages."""

from decimal import Decimal

from imports.kinds import KINDS
from imports.models import ImportBatch

# The totals the preview shows, zero when the file's kind adds none of them.
TOTALS = ("accounts", "contracts", "mrr", "opening")


def batch_progress(batch: ImportBatch) -> dict:
    total = batch.rows_total or 0
    percent = 100 if batch.status == ImportBatch.Status.DONE or not total else min(100, batch.rows_done * 100 // total)
    return {"percent": percent, "done": batch.rows_done, "total": total,
            "finished": batch.status not in (ImportBatch.Status.QUEUED, ImportBatch.Status.RUNNING)}


def batch_view(batch: ImportBatch) -> dict:
    counts = batch.counts or {}
    columns = KINDS[batch.kind].columns
    return {
        "batch": batch,
        "progress": batch_progress(batch),
        "counts": {k: counts.get(k, 0) for k in ("create", "update", "unchanged", "error")},
        "totals": {**dict.fromkeys(TOTALS, Decimal(0)), **{k: Decimal(v) for k, v in (batch.totals or {}).items()}},
        "results": counts.get("results", []),
        "mapping": counts.get("mapping", {}),
        "unknown": counts.get("unknown", []),
        "columns": columns,
        "errors": batch.errors[:2000],
        "can_commit": batch.status == ImportBatch.Status.PREVIEWED and not batch.message,
    }
