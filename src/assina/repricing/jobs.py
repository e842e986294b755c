"""The repricing app's job: each member's reminder, the scheduling of its choice and the reading
of its outcome (``services.process_due``). It runs after billing at each stop (order 60): the
renewal into the period that ends at the member's change comes first, then the scheduling."""

from __future__ import annotations

from assina.jobs import register_job

from .services import has_work, next_due, process_due


def register() -> None:
    register_job("price_migrations", process_due, next_due=next_due, has_work=has_work, order=60)
