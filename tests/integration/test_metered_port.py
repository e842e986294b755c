"""Subscriptions asks for metered lines through a port the usage app fills at start-up."""

from __future__ import annotations

from assina.subscriptions import metered
from assina.usage import billing


def test_the_usage_app_registers_its_billing_as_the_source_of_metered_lines():
    assert metered._source is billing.metered_lines


def test_without_a_source_no_subscription_has_metered_lines(monkeypatch):
    monkeypatch.setattr(metered, "_source", None)
    assert metered.metered_lines([(1, None, None)]) == {}
