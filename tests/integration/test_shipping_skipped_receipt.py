"""A skipped delivery's invoice is 0 and charges nothing: no receipt e-mail goes out for it
(``notifications.producing._receipt``), while the paid months keep theirs. Beans 49.90 ships
goods (15.00 a delivery, free from 50.00)."""

from __future__ import annotations

import pytest
from factories import advance, make_customer, make_plan, start_clock, subscribe, utc

from assina.catalog.services import set_shipping
from assina.invoices.models import Invoice
from assina.notifications.models import Message
from assina.subscriptions import deliveries
from assina.time import now

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("locale", ["en", "pt-BR"])
def test_a_skipped_deliverys_zero_invoice_sends_no_receipt(locale):
    start_clock(utc(2027, 1, 1))
    make_plan("beans", 4990, name="Beans")
    set_shipping("beans", ships_goods=True, fee=1500, free_from=5000, max_skips_per_year=2, at=now())
    sub = subscribe(make_customer(email="ana@example.com", locale=locale), "beans")
    deliveries.skip_next_delivery(sub.pk)
    advance(utc(2027, 3, 2))
    january, february, march = Invoice.objects.filter(subscription=sub).order_by("period_start")
    assert (january.total, february.total, march.total) == (6490, 0, 6490)
    assert february.status == "paid"
    receipts = Message.objects.filter(template="receipt", customer_id=sub.customer_id)
    assert sorted(receipts.values_list("key", flat=True)) == sorted(
        [f"receipt:invoice:{january.pk}", f"receipt:invoice:{march.pk}"])
