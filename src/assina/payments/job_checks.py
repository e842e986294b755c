"""Cheap checks the job runner makes before the payment jobs (see ``assina.jobs``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from . import expiring, retries
from .models import Refund


def retries_have_work(until: datetime) -> bool:
    """A retry or final action due, or a refund a crash left pending."""
    due = retries.next_due()
    return (due is not None and due <= until) or Refund.objects.filter(status=Refund.Status.PENDING).exists()


def expiring_cards_have_work(until: datetime) -> bool:
    """The card in use that expires first is within its notice period (cards are ordered by
    expiry, so if the first is not, none is)."""
    first = expiring.expiring_methods(until).values_list("exp_month", "exp_year").first()
    return first is not None and expiring.expires_at(*first) - timedelta(days=expiring.days_ahead()) <= until
