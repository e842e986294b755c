"""Campaigns end to end: a segment, per-recipient language, RFC 8058 one-click unsubscribe (POST
only; a GET asks), consent respected by the next campaign, counts, scheduling."""

from datetime import timedelta

import pytest
from email_support import links, parts, path_of, sent_on, smtp_server, web_transactions
from factories import advance, make_customer, make_plan, start_clock, subscribe, utc

from assina.notifications import campaigns
from assina.notifications.consent import set_consent
from assina.notifications.jobs import run
from assina.notifications.models import Campaign, MarketingConsent, Message, Segment
from assina.notifications.rendering import TemplateError
from assina.notifications.segments import customers_of

pytestmark = web_transactions()

T0 = utc(2026, 11, 21, 9)


@pytest.fixture
def smtp(settings):
    settings.ASSINA_BASE_URL = "https://shop.example"
    with smtp_server() as (box, port):
        settings.ASSINA_SMTP_URL = f"smtp://127.0.0.1:{port}"
        yield box


def _business():
    start_clock(T0)
    make_plan("pro", 9990, name="Pro")
    make_plan("basic", 2990, name="Basic")
    ana = make_customer(email="ana@example.com", name="Ana Souza", locale="pt-BR", country="BR")
    bob = make_customer(email="bob@example.com", name="Bob Smith", locale="en", country="US")
    cid = make_customer(email="cid@example.com", name="Cid", locale="pt-BR", country="BR")
    subscribe(ana, "pro")
    subscribe(bob, "pro")
    subscribe(cid, "basic")
    return ana, bob, cid


def _campaign(segment, **kwargs) -> Campaign:
    fields = {"name": "Novidades", "segment": segment, "subject_en": "News for {{ customer.first_name }}",
              "html_en": '<p>Hi {{ customer.first_name }}, <a href="{{ account_url }}">see what is new</a>.</p>',
              "subject_pt_br": "Novidades para {{ customer.first_name }}",
              "html_pt_br": '<p>Olá, {{ customer.first_name }}! <a href="{{ account_url }}">Veja as novidades</a>.</p>',
              "created_at": T0}
    return Campaign.objects.create(**{**fields, **kwargs})


def test_campaign_with_one_click_unsubscribe_end_to_end(smtp, client):
    ana, bob, cid = _business()
    pro = Segment.objects.create(name="Pro", plans=["pro"], created_at=T0)
    campaign = _campaign(pro)
    counts = campaigns.send_now(campaign.pk, T0)
    assert counts["recipients"] == 2 and counts["queued"] == 2
    run(T0, at_due_time=True)

    news = [m for m in smtp.messages if "Novidades para Ana" == m["Subject"]]
    assert len(news) == 1 and not [m for m in smtp.to("cid@example.com") if m["List-Unsubscribe"]]  # Cid is on Basic
    message = news[0]
    unsubscribe = message["List-Unsubscribe"].strip().strip("<>")
    assert unsubscribe.startswith("https://shop.example/c/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = parts(message)
    assert "Olá, Ana!" in text and "Veja as novidades: https://shop.example" in text
    assert unsubscribe in links(html) and unsubscribe in text
    assert "News for Bob" in [m["Subject"] for m in smtp.to("bob@example.com")]

    # A GET (a link scanner, a preview) only shows a confirmation page.
    page = client.get(path_of(unsubscribe))
    assert page.status_code == 200 and b"<form method=\"post\"" in page.content
    assert "Parar as mensagens de marketing para ana@example.com?" in page.content.decode()  # in her language
    assert not MarketingConsent.objects.exists()
    # The mail client's one-click POST (RFC 8058) unsubscribes, with no CSRF token.
    response = client.post(path_of(unsubscribe), "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    consent = MarketingConsent.objects.get(customer=ana)
    assert (consent.status, consent.campaign_id, consent.source) == ("revoked", campaign.pk, "one-click")
    assert campaigns.stats([campaign.pk])[campaign.pk] == {"sent": 2, "unsubscribed": 1}

    # The next campaign skips her (kept as suppressed); transactional mail still reaches her.
    second = _campaign(pro, name="Black Friday")
    campaigns.send_now(second.pk, T0 + timedelta(hours=1))
    run(T0 + timedelta(hours=1), at_due_time=True)
    assert campaigns.stats([second.pk])[second.pk] == {"sent": 1, "suppressed": 1}
    assert len([m for m in smtp.to("ana@example.com") if m["Subject"].startswith("Novidades")]) == 1
    receipts = [m for m in smtp.to("ana@example.com") if m["Subject"].startswith("Recibo")]
    assert receipts and receipts[0]["List-Unsubscribe"] is None
    with pytest.raises(campaigns.CampaignError):
        campaigns.send_now(second.pk, T0 + timedelta(hours=2))  # a campaign is sent once


def test_a_scheduled_campaign_goes_out_when_the_clock_reaches_it(smtp):
    _business()
    campaign = _campaign(Segment.objects.create(name="Everyone", created_at=T0))
    campaigns.schedule(campaign.pk, utc(2026, 11, 25, 12))
    advance(utc(2026, 11, 24))
    assert not [m for m in smtp.messages if m["List-Unsubscribe"]]
    advance(utc(2026, 11, 27))
    news = [m for m in smtp.messages if m["List-Unsubscribe"]]
    assert len(news) == 3 and {sent_on(m).isoformat() for m in news} == {"2026-11-25"}
    assert Campaign.objects.get(pk=campaign.pk).status == "queued"


def test_a_campaign_with_a_broken_template_is_refused_and_nothing_is_queued():
    _business()
    campaign = _campaign(Segment.objects.create(name="Everyone", created_at=T0),
                         html_en="<p>ok</p>\n<p>{{ customer.frist_name }}</p>")
    with pytest.raises(TemplateError, match="line 2"):
        campaigns.send_now(campaign.pk, T0)
    assert not Message.objects.filter(campaign=campaign).exists()


def test_segments_filter_on_plan_status_country_locale_tenure_mrr_and_activity():
    ana, bob, cid = _business()
    advance(T0 + timedelta(days=40))
    dan = make_customer(email="dan@example.com", locale="en", country="BR")

    def members(**filters):
        segment = Segment(name="s", created_at=T0, **filters)
        return {c.email.split("@")[0] for c in customers_of(segment, T0 + timedelta(days=40))}

    assert members(plans=["pro"]) == {"ana", "bob"}
    assert members(statuses=["active"]) == {"ana", "bob", "cid"}
    assert members(countries=["br"]) == {"ana", "cid", "dan"}
    assert members(locales=["pt-br"]) == {"ana", "cid"}
    assert members(min_tenure_days=30) == {"ana", "bob", "cid"}
    assert members(max_tenure_days=5) == {"dan"}
    assert members(min_mrr=5000) == {"ana", "bob"}
    assert members(max_mrr=3000) == {"cid", "dan"}
    assert members(active_within_days=1) == {"dan"}
    assert members(inactive_for_days=5) == {"ana", "bob", "cid"}


def test_opt_in_mode_mails_only_customers_who_consented(smtp, settings):
    settings.ASSINA_MARKETING_CONSENT = "opt-in"
    ana, bob, cid = _business()
    set_consent(bob.pk, True, T0, source="signup form")
    campaign = _campaign(Segment.objects.create(name="Everyone", created_at=T0))
    campaigns.send_now(campaign.pk, T0)
    run(T0, at_due_time=True)
    assert campaigns.stats([campaign.pk])[campaign.pk] == {"sent": 1, "suppressed": 2}
    assert [m["Subject"] for m in smtp.messages if m["List-Unsubscribe"]] == ["News for Bob"]
