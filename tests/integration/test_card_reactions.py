"""A subscription that names its own card follows that card: payments states that the card was
replaced or removed (``payments.events``) and subscriptions reacts in the same transaction."""

import pytest
from django.db import transaction
from factories import GOOD_CARD, make_customer, make_plan, reload, start_clock, subscribe, utc

from assina import dispatch
from assina.payments import methods
from assina.payments.events import CardDetached, CardReplaced
from assina.subscriptions import card_reactions
from assina.time import now

pytestmark = pytest.mark.django_db


def _subscription_on_its_own_card():
    start_clock(utc(2027, 1, 10, 9))
    make_plan("pro", 4990)
    customer = make_customer(card=None)
    default = methods.add_card(customer, GOOD_CARD, now())
    own = methods.add_card(customer, "5555555555554444", now(), make_default=False)
    sub = subscribe(customer, "pro")
    sub.payment_method = own
    sub.save(update_fields=["payment_method"])
    other = subscribe(customer, "pro")  # on the customer's default: never touched
    return customer, default, own, sub, other


def test_subscriptions_register_their_card_reactions_at_start_up():
    assert card_reactions.card_detached in dispatch.handlers_of(CardDetached)
    assert card_reactions.card_replaced in dispatch.handlers_of(CardReplaced)


def test_a_replaced_card_moves_the_subscriptions_that_used_it_to_the_new_card():
    customer, _default, own, sub, other = _subscription_on_its_own_card()
    new = methods.replace(customer, own.pk, now(), number=GOOD_CARD, exp_month=4, exp_year=2030)
    assert reload(sub).payment_method_id == new.pk
    assert reload(other).payment_method_id is None


def test_a_removed_card_leaves_its_subscriptions_on_the_customers_default():
    customer, _default, own, sub, other = _subscription_on_its_own_card()
    methods.remove(customer, own.pk, now())
    assert reload(sub).payment_method_id is None and reload(other).payment_method_id is None


def test_the_reaction_rolls_back_with_the_change_that_stated_it():
    _customer, _default, own, sub, _other = _subscription_on_its_own_card()
    with pytest.raises(RuntimeError), transaction.atomic():
        dispatch.publish(CardDetached(own.pk))
        assert reload(sub).payment_method_id is None
        raise RuntimeError("the change fails afterwards")
    assert reload(sub).payment_method_id == own.pk
