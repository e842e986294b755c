"""Usage drives two messages: reaching the onboarding milestone stops the sequence, and the
first of each month brings a value report of last month's usage in the customer's language."""

from datetime import timedelta

import pytest
from email_support import parts, sent_on, smtp_server
from factories import advance, make_customer, make_plan, real_transactions, start_clock, subscribe, utc

from assina.notifications.models import Message
from assina.usage.models import UsageEvent

pytestmark = real_transactions

T0 = utc(2026, 11, 2, 10)


@pytest.fixture
def smtp(settings):
    settings.ASSINA_EMAIL_ONBOARDING_MILESTONES = ["usage:*"]
    with smtp_server() as (box, port):
        settings.ASSINA_SMTP_URL = f"smtp://127.0.0.1:{port}"
        yield box


def _use(customer, n: int, at, metric: str = "api_calls"):
    UsageEvent.objects.create(customer=customer, metric_code=metric, event_id=f"{customer.pk}-{at.isoformat()}", value=n,
                              timestamp=at, received_at=at)


def test_usage_stops_onboarding_and_feeds_the_monthly_value_report(smtp):
    start_clock(T0)
    make_plan("pro", 4990, name="Pro")
    busy = make_customer(email="busy@example.com", locale="pt-BR")
    idle = make_customer(email="idle@example.com", locale="en")
    subscribe(busy, "pro")
    subscribe(idle, "pro")
    advance(T0 + timedelta(days=1))
    _use(busy, 1200, T0 + timedelta(days=1))  # reached the milestone on day 1
    _use(busy, 34, utc(2026, 11, 20))
    advance(utc(2026, 12, 2))

    assert not Message.objects.filter(customer=busy, template__startswith="onboarding").exists()
    assert set(Message.objects.filter(customer=idle, template__startswith="onboarding").values_list("template", flat=True)) \
        == {"onboarding_1", "onboarding_2"}
    report = [m for m in smtp.to("busy@example.com") if m["Subject"].startswith("Seu mês de novembro de 2026")]
    assert len(report) == 1 and sent_on(report[0]).isoformat() == "2026-12-01"
    text, html = parts(report[0])
    assert "1.234 api_calls" in text and "<strong>1.234</strong> api_calls" in html
    assert report[0]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"  # a marketing message
    assert not [m for m in smtp.to("idle@example.com") if "with" in m["Subject"] and "November" in m["Subject"]]
