"""The demo business reads as one real business: its customers live where their currency and
time zone say, nobody's surname is doubled, and each customer's mail names plans in their language.

Runs commit (payments collect after their transaction), hence ``transaction=True``.
"""

from datetime import UTC, datetime

import pytest

from assina.analytics.models import ExchangeRate
from assina.catalog.models import Plan
from assina.customers.models import Customer
from assina.notifications.models import Message
from assina.simulation import business as biz
from assina.simulation.runner import simulate
from assina.subscriptions.models import Subscription

pytestmark = pytest.mark.django_db(transaction=True)

END = datetime(2027, 3, 1, 15, 30, tzinfo=UTC)
# The IANA time zones of each country the demo's customers live in (zone.tab, Brazil and the United States).
ZONES = {
    "BR": {"America/Noronha", "America/Belem", "America/Fortaleza", "America/Recife", "America/Araguaina",
           "America/Maceio", "America/Bahia", "America/Sao_Paulo", "America/Campo_Grande", "America/Cuiaba",
           "America/Santarem", "America/Porto_Velho", "America/Boa_Vista", "America/Manaus", "America/Eirunepe",
           "America/Rio_Branco"},
    "US": {"America/New_York", "America/Detroit", "America/Chicago", "America/Denver", "America/Boise",
           "America/Phoenix", "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu"},
}
CURRENCY = {"BR": "BRL", "US": "USD"}
LANGUAGE = {"BRL": "pt-BR", "USD": "en"}
PORTUGUESE_NAMES = [name for _code, name, _amount in biz.CATALOG["BRL"].values() if name != "Pro"]
ENGLISH_NAMES = [name for _code, name, _amount in biz.CATALOG["USD"].values() if name != "Pro"]


def test_customers_live_where_their_currency_and_time_zone_say_and_read_plan_names_in_their_language():
    simulate(customers=60, months=4, seed=21, end=END, parallel_mail=False)

    customers = list(Customer.objects.values_list("name", "locale", "country", "time_zone", "currency"))
    assert len(customers) == 60
    assert {country for _n, _l, country, _t, _c in customers} == {"BR", "US"}
    for name, locale, country, time_zone, currency in customers:
        assert currency == CURRENCY[country] and time_zone in ZONES[country], (name, country, time_zone, currency)
        assert locale == LANGUAGE[currency], (name, locale, currency)
        words = name.split()
        assert len(words) == len(set(words)), f"a doubled name: {name}"

    # Each subscription is on a plan of its customer's currency, named in the customer's language.
    subscriptions = Subscription.objects.values_list("customer__currency", "currency", "plan__currency", "plan__name")
    assert {currency for currency, *_ in subscriptions} == {"BRL", "USD"}
    for customer_currency, currency, plan_currency, plan_name in subscriptions:
        assert customer_currency == currency == plan_currency
        assert plan_name in [name for _code, name, _amount in biz.CATALOG[currency].values()]

    # The mail says so: no Portuguese plan name in an English message, and the other way round.
    english = Message.objects.filter(customer__locale="en")
    portuguese = Message.objects.filter(customer__locale="pt-BR")
    assert english.exists() and portuguese.exists()
    for message in english:
        assert not any(name in message.subject + message.text for name in PORTUGUESE_NAMES), message.subject
    for message in portuguese:
        assert not any(name in message.subject + message.text for name in ENGLISH_NAMES), message.subject
    assert any(name in m.subject + m.text for m in english for name in ENGLISH_NAMES)

    # The dashboard can add the dollars to the reais: the operator's rate is set.
    assert ExchangeRate.objects.filter(currency="USD").exists()
    assert set(Plan.objects.values_list("currency", flat=True)) == {"BRL", "USD"}
