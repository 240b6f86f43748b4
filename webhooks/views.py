"""Webhook pages (Admin only): endpoints, their delivery log, and resending a delivery."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from billing_site.errors import DomainError
from billing_site.events import EVENT_TYPES
from billing_site.forms import form_add_domain_error
from billing_site.pages import refusal_as_message
from billing_site.roles import Role, role_required
from webhooks import services
from webhooks.forms import EndpointForm
from webhooks.models import Delivery, Endpoint
from webhooks.signing import TOLERANCE_SECONDS

ADMIN = {Role.ADMIN}


@role_required(ADMIN)
def endpoint_index(request):
    """Every endpoint with its state and the latest deliveries."""
    endpoints = Endpoint.objects.all()
    recent = Delivery.objects.select_related("event", "endpoint")[:25]
    return render(request, "webhooks/index.html", {"endpoints": endpoints, "recent": recent, "event_types": EVENT_TYPES})


@role_required(ADMIN)
def endpoint_create(request):
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.endpoint_create(actor=request.user, data=form.cleaned_data)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Endpoint added. Copy its signing secret into the receiver."))
            return redirect("webhooks:detail", pk=endpoint.pk)
    return render(request, "webhooks/endpoint_form.html", {"form": form})


@role_required(ADMIN)
def endpoint_detail(request, pk: int):
    """An endpoint's settings (editable), its secret and its delivery log."""
    endpoint = get_object_or_404(Endpoint, pk=pk)
    initial = {"url": endpoint.url, "description": endpoint.description, "event_types": endpoint.event_types}
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.endpoint_update(endpoint=endpoint, actor=request.user, data=form.cleaned_data)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Endpoint saved."))
            return redirect("webhooks:detail", pk=endpoint.pk)
    deliveries = endpoint.deliveries.select_related("event")
    status = request.GET.get("status", "")
    if status in Delivery.Status.values:
        deliveries = deliveries.filter(status=status)
    page = Paginator(deliveries, 50).get_page(request.GET.get("page"))
    return render(request, "webhooks/endpoint_detail.html", {
        "endpoint": endpoint, "form": form, "page": page, "status": status, "statuses": Delivery.Status.choices,
        "tolerance": TOLERANCE_SECONDS,
    })


@role_required(ADMIN)
@require_POST
def endpoint_active(request, pk: int):
    endpoint = get_object_or_404(Endpoint, pk=pk)
    active = request.POST.get("active") == "1"
    services.endpoint_set_active(endpoint=endpoint, actor=request.user, active=active)
    messages.success(request, _("Endpoint enabled.") if active else _("Endpoint disabled."))
    return redirect("webhooks:detail", pk=endpoint.pk)


@role_required(ADMIN)
@require_POST
def endpoint_rotate(request, pk: int):
    endpoint = get_object_or_404(Endpoint, pk=pk)
    services.endpoint_rotate_secret(endpoint=endpoint, actor=request.user)
    messages.success(request, _("New signing secret made: update the receiver."))
    return redirect("webhooks:detail", pk=endpoint.pk)


@role_required(ADMIN)
def delivery_detail(request, pk: int):
    """One delivery: the event's JSON body and every attempt with its response code."""
    delivery = get_object_or_404(Delivery.objects.select_related("endpoint", "event"), pk=pk)
    body = services.event_body_bytes(delivery.event).decode()
    return render(request, "webhooks/delivery_detail.html", {
        "delivery": delivery, "attempts": delivery.attempts.all(), "body": body,
    })


@role_required(ADMIN)
@require_POST
def delivery_resend(request, pk: int):
    delivery = get_object_or_404(Delivery, pk=pk)
    with refusal_as_message(request):
        services.webhook_delivery_resend(delivery=delivery, actor=request.user)
        messages.success(request, _("The delivery will be sent again in a moment."))
    return redirect("webhooks:delivery", pk=delivery.pk)
