"""The admin for messages: every message on the customer's page, templates edited (refused with
the line when broken), previewed and test-sent, campaigns previewed per recipient with counts."""

import pytest
from django.urls import reverse
from email_support import parts, smtp_server
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.notifications.jobs import run
from assina.notifications.models import Campaign, Message, MessageTemplate, Segment
from assina.notifications import campaigns

pytestmark = pytest.mark.django_db

T0 = utc(2026, 11, 21, 9)


@pytest.fixture
def admin_user(django_user_model):
    user = django_user_model(username="admin", email="admin@example.com", is_staff=True, is_superuser=True)
    user.set_unusable_password()
    user.save()
    return user


@pytest.fixture
def smtp(settings):
    with smtp_server() as (box, port):
        settings.ASSINA_SMTP_URL = f"smtp://127.0.0.1:{port}"
        yield box


@pytest.fixture
def shop(smtp):
    start_clock(T0)
    make_plan("pro", 4990, name="Pro")
    ana = make_customer(email="ana@example.com", name="Ana Souza", locale="pt-BR")
    subscribe(ana, "pro")
    run(T0, at_due_time=True)
    return ana


def test_the_customer_page_shows_every_message_sent_to_the_customer(admin_client, shop):
    page = admin_client.get(reverse("admin:customers_customer_change", args=[shop.pk])).content.decode()
    for message in Message.objects.filter(customer=shop):
        assert message.subject in page
    assert "Boas-vindas" in page and "Recibo da fatura" in page
    listing = admin_client.get(reverse("admin:notifications_message_changelist") + f"?q={shop.email}")
    assert listing.status_code == 200 and "Recibo da fatura" in listing.content.decode()
    detail = admin_client.get(reverse("admin:notifications_message_change", args=[Message.objects.first().pk]))
    assert detail.status_code == 200 and "250 2.0.0 Ok: queued" in detail.content.decode()


def test_a_broken_template_is_refused_with_its_line_and_a_good_edit_is_used(admin_client, shop, smtp):
    assert admin_client.get(reverse("admin:notifications_messagetemplate_changelist")).status_code == 200
    row = MessageTemplate.objects.get(key="receipt", locale="pt-BR")
    url = reverse("admin:notifications_messagetemplate_change", args=[row.pk])
    assert admin_client.get(url).status_code == 200
    broken = admin_client.post(url, {"subject": row.subject, "html": "<p>Oi</p>\n<p>{{ invoice.totl }}</p>", "text": ""})
    assert broken.status_code == 200
    assert "line 2: unknown variable" in broken.content.decode()
    assert MessageTemplate.objects.get(pk=row.pk).html == row.html  # nothing saved
    good = admin_client.post(url, {"subject": "Seu recibo {{ invoice.number }}", "html": "<p>Pago: {{ invoice.total }}</p>", "text": ""})
    assert good.status_code == 302
    assert MessageTemplate.objects.get(pk=row.pk).is_default is False

    preview = admin_client.get(reverse("admin:notifications_messagetemplate_preview", args=[row.pk])).content.decode()
    assert "Seu recibo 2026-000123" in preview and "Pago: R$ 49,90" in preview

    sent = admin_client.post(reverse("admin:notifications_messagetemplate_test_send", args=[row.pk]), {"to": "owner@example.com"})
    assert sent.status_code == 302
    run(T0, at_due_time=True)
    test_message = smtp.to("owner@example.com")[0]
    assert test_message["Subject"] == "Seu recibo 2026-000123"
    assert "Pago: R$ 49,90" in parts(test_message)[0]


def test_campaign_admin_previews_per_recipient_and_shows_counts(admin_client, shop, smtp):
    bob = make_customer(email="bob@example.com", name="Bob", locale="en")
    segment = Segment.objects.create(name="Everyone", created_at=T0)
    campaign = Campaign.objects.create(name="Launch", segment=segment, subject_en="Hello {{ customer.first_name }}",
                                       html_en="<p>New things</p>", subject_pt_br="Olá {{ customer.first_name }}",
                                       html_pt_br="<p>Novidades</p>", created_at=T0)
    preview = admin_client.get(reverse("admin:notifications_campaign_preview", args=[campaign.pk]) + f"?customer={bob.pk}")
    assert "Hello Bob" in preview.content.decode()
    preview = admin_client.get(reverse("admin:notifications_campaign_preview", args=[campaign.pk]) + f"?customer={shop.pk}")
    assert "Olá Ana" in preview.content.decode() and "Novidades" in preview.content.decode()
    campaigns.send_now(campaign.pk, T0)
    run(T0, at_due_time=True)
    listing = admin_client.get(reverse("admin:notifications_campaign_changelist")).content.decode()
    assert "Launch" in listing
    assert campaigns.stats([campaign.pk])[campaign.pk] == {"sent": 2}
    assert admin_client.get(reverse("admin:notifications_segment_change", args=[segment.pk])).status_code == 200
