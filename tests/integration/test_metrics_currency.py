"""Several currencies: converted into the reporting currency with the operator's rates, or shown
unconverted when filtering by one currency; a currency without a rate is reported, never guessed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from factories import make_customer, make_plan, start_clock, subscribe, utc

from assina.analytics import service
from assina.analytics.models import ExchangeRate

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_currencies(settings):
    settings.ASSINA_MAX_BACKDATE_DAYS = 400  # imports months of history: a start may otherwise lie one period back (issue 14)
    service.forget()
    start_clock(utc(2027, 3, 10, 12))
    make_plan("basic", 3000)
    make_plan("basic-usd", 1000, currency="USD")
    make_plan("yearly-jpy", 12000, currency="JPY", interval="year")
    subscribe(make_customer(), "basic", start=utc(2027, 1, 5))
    subscribe(make_customer(currency="USD"), "basic-usd", start=utc(2027, 2, 5))
    subscribe(make_customer(currency="JPY"), "yearly-jpy", start=utc(2027, 3, 5))
    yield
    service.forget()


def test_mrr_in_other_currencies_is_converted_at_the_rate_of_its_day(two_currencies):
    ExchangeRate.objects.create(currency="USD", rate=Decimal("5.5"), valid_from=date(2027, 1, 1))
    ExchangeRate.objects.create(currency="USD", rate=Decimal("6"), valid_from=date(2027, 3, 1))
    report = service.report(months=3)
    # BRL 3000; USD 10.00 from Feb 5 at 5.5 = R$ 55.00 (a later rate does not revalue it); JPY has no rate.
    assert report["summary"]["mrr"] == 3000 + 5500
    assert report["unconverted_currencies"] == ["JPY"] and report["reconciles"]
    usd = service.report(months=3, currency="usd")
    assert (usd["currency"], usd["summary"]["mrr"], usd["unconverted_currencies"]) == ("USD", 1000, [])
    # JPY has no minor unit: 12000 a year is 1000 a month.
    jpy = service.report(months=3, currency="JPY")
    assert jpy["summary"]["mrr"] == 1000
    ExchangeRate.objects.create(currency="JPY", rate=Decimal("0.0345"), valid_from=date(2027, 1, 1))
    # 1000 JPY x 0.0345 = R$ 34.50; the new rate is seen at once (the snapshot is rebuilt).
    assert service.report(months=3)["summary"]["mrr"] == 3000 + 5500 + 3450
    with pytest.raises(service.MetricsError):
        service.report(as_of="9999-12-31")
