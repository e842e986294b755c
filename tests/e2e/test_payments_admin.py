"""The admin shows dunning: attempts with decline codes and the next retry on the invoice and the
customer, the policy (edited with validation) and the recovery figures by month."""

import pytest
from django.urls import reverse
from factories import advance, invoices_of, make_customer, make_plan, start_clock, subscribe, utc
from payments_support import card_fails

from assina.payments.dunning import current_policy
from assina.payments.models import DunningPolicy

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def failed_renewal():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customer = make_customer(email="dora@example.com")
    sub = subscribe(customer, "pro")
    card_fails(customer, utc(2027, 2, 1), "insufficient_funds")
    advance(utc(2027, 2, 12))
    return customer, invoices_of(sub)[-1]


def test_invoice_and_customer_pages_show_attempts_decline_codes_and_next_retry(admin_client, failed_renewal):
    customer, invoice = failed_renewal
    page = admin_client.get(reverse("admin:invoices_invoice_change", args=[invoice.pk])).content.decode()
    assert "insufficient_funds" in page and "Retrying" in page and "Feb. 13, 2027" in page
    page = admin_client.get(reverse("admin:customers_customer_change", args=[customer.pk])).content.decode()
    assert "insufficient_funds" in page and invoice.number in page and "Feb. 13, 2027" in page


def test_dunning_page_shows_the_policy_and_recovery_by_month_and_the_policy_is_edited_with_validation(admin_client, failed_renewal):
    page = admin_client.get(reverse("admin:payments_dunningpolicy_changelist")).content.decode()
    assert "1, 3, 5, 7, 10, 14" in page and "2027-02" in page and "R$49.90" in page
    add = reverse("admin:payments_dunningpolicy_add")
    data = {"retry_days": "2, 1", "hard_decline_codes": "lost_card", "soft_decline_codes": "insufficient_funds",
            "grace_days": "3", "final_action": "unpaid"}
    response = admin_client.post(add, data)
    assert response.status_code == 200 and "increasing" in response.content.decode()
    assert not DunningPolicy.objects.exists()
    response = admin_client.post(add, {**data, "retry_days": "1, 2, 4"})
    assert response.status_code == 302
    policy = current_policy()
    assert (policy.retry_days, policy.grace_days, policy.final_action) == ((1, 2, 4), 3, "unpaid")
    page = admin_client.get(reverse("admin:payments_dunningpolicy_changelist"), HTTP_ACCEPT_LANGUAGE="pt-br").content.decode()
    assert "Recuperação por mês" in page
