"""Deliveries: an ordered product that needs delivery is confirmed delivered, once, by a person."""

from datetime import date

from django.db import transaction
from django.utils.translation import gettext as _

from billing_site import clock
from billing_site.audit import audit_record
from billing_site.errors import InvalidTransition, ValidationFailed
from contracts.models import Order, OrderProduct, Subscription

from .orders import _user, bills_on_delivery
from .schedule import schedule_create


@transaction.atomic
def order_product_deliver(*, order_product: OrderProduct, actor, delivered_date: date | None = None,
                          today: date | None = None) -> OrderProduct:
    """Confirm an activated order's product delivered on `delivered_date` (default today); a one-time
    product billed on delivery is scheduled for that day."""
    today = today or clock.today()
    delivered_date = delivered_date or today
    op = OrderProduct.objects.select_for_update(of=("self",)).select_related("order", "product__billing_rule").get(pk=order_product.pk)
    if not op.product.needs_delivery:
        raise ValidationFailed(_("%(product)s does not need delivery.") % {"product": op.product.name})
    if op.order.status != Order.Status.ACTIVATED:
        raise InvalidTransition(_("Order %(number)s is not activated: nothing to deliver yet.") % {"number": op.order.number})
    if op.delivered_date is not None:
        raise InvalidTransition(
            _("%(product)s was already delivered on %(day)s.") % {"product": op.product.name, "day": op.delivered_date.isoformat()}
        )
    if delivered_date > today:
        raise ValidationFailed(fields={"delivered_date": [_("The delivery date cannot be in the future.")]})
    if delivered_date < op.order.start_date:
        raise ValidationFailed(fields={"delivered_date": [_("The delivery date is before the order starts.")]})
    op.delivered_date = delivered_date
    op.delivered_by = _user(actor)
    op.delivered_at = clock.now()
    op.save(update_fields=["delivered_date", "delivered_by", "delivered_at"])
    if bills_on_delivery(op.product):
        subscription = Subscription.objects.filter(origin=op).first()
        if subscription is not None:
            schedule_create(subscription=subscription, order=op.order, quantity=op.quantity, start=delivered_date, today=today)
    late = op.delivery_due_date is not None and delivered_date > op.delivery_due_date
    audit_record(obj=op.order, action="delivered", actor=actor, message=f"{op.product.name}: {delivered_date.isoformat()}",
                 data={"order_product": op.pk, "due": op.delivery_due_date.isoformat() if op.delivery_due_date else None,
                       "late": late})
    return op
