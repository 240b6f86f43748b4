"""Contract writes: orders and activation, amendments, renewals, and the schedule calls invoicing makes."""

from .amendments import AmendmentPreview, AmendmentRequest, contract_amend, contract_amendment_preview
from .deliveries import order_product_deliver
from .orders import (
    ORDER_FIELDS,
    order_activate,
    order_create,
    order_create_from_quote,
    order_product_add,
    order_product_remove,
    product_price,
)
from .renewals import contract_renew, contracts_expire, renewal_notice_days, renewals_create
from .schedule import (
    schedule_entries_mark_billed,
    schedule_entries_mark_unbilled,
    schedule_entry_set_usage_amount,
    schedules_extend,
    schedules_extend_through,
    subscription_extend_schedule,
)

__all__ = [
    "ORDER_FIELDS", "AmendmentPreview", "AmendmentRequest", "contract_amend", "contract_amendment_preview",
    "contract_renew", "contracts_expire", "order_activate", "order_create", "order_create_from_quote",
    "order_product_add", "order_product_deliver", "order_product_remove", "product_price", "renewal_notice_days", "renewals_create",
    "schedule_entries_mark_billed", "schedule_entries_mark_unbilled", "schedule_entry_set_usage_amount",
    "schedules_extend", "schedules_extend_through", "subscription_extend_schedule",
]
