"""The admin shows endpoints, deliveries with their attempts, usage events and charges, and
creates metrics, metered prices and endpoints through the services."""

import pytest
from factories import make_plan, start_clock, utc

from assina.catalog.models import MeteredPrice, Metric
from assina.events.models import Event
from assina.webhooks.fanout import fan_out
from assina.webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def test_admin_pages_and_actions(admin_client):
    start_clock(utc(2027, 1, 1))
    make_plan("api", 1000)
    response = admin_client.post("/admin/catalog/metric/add/", {"code": "calls", "name": "API calls", "aggregation": "sum"})
    assert response.status_code == 302, response.content.decode()[:2000]
    response = admin_client.post("/admin/catalog/meteredprice/add/", {
        "plan": "", "metric": Metric.objects.get().pk})
    assert response.status_code == 200  # the plan is missing: the form says so, nothing created
    from assina.catalog.models import Plan

    response = admin_client.post("/admin/catalog/meteredprice/add/", {
        "plan": Plan.objects.get().pk, "metric": Metric.objects.get().pk, "pricing_model": "per_unit",
        "unit_amount": "0,05", "package_size": 1, "tiers": ""})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert MeteredPrice.objects.get().unit_amount == 5
    response = admin_client.post("/admin/webhooks/webhookendpoint/add/", {"url": "https://example.com/hooks",
                                                                          "description": "shop", "event_types": "invoice.*"})
    assert response.status_code == 302
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["invoice.*"]
    Event.objects.create(type="invoice.paid", occurred_at=utc(2027, 1, 1), subject_type="invoice", subject_id=1)
    fan_out(utc(2027, 1, 1), at_due_time=True)
    delivery = WebhookDelivery.objects.get()
    for url in ("/admin/webhooks/webhookendpoint/", f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
                "/admin/webhooks/webhookdelivery/", f"/admin/webhooks/webhookdelivery/{delivery.pk}/change/",
                "/admin/usage/usageevent/", "/admin/usage/usagecharge/", "/admin/catalog/metric/",
                "/admin/catalog/meteredprice/"):
        assert admin_client.get(url).status_code == 200, url
    old = endpoint.secret
    admin_client.post("/admin/webhooks/webhookendpoint/", {"action": "rotate_secret", "_selected_action": [endpoint.pk]})
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    admin_client.post("/admin/webhooks/webhookendpoint/", {"action": "disable", "_selected_action": [endpoint.pk]})
    assert WebhookEndpoint.objects.get().enabled is False
