"""The types of the durable events the repricing app records (``assina.events``)."""

from __future__ import annotations

EVENT_TYPES: tuple[str, ...] = (
    "price_migration.created",  # a migration was created and its notices queued (one event, with the counts)
    "price_migration.chosen",  # a customer chose an option (or changed their choice)
    "price_migration.reminded",  # the reminder 7 days before the change was queued (no answer yet)
    "price_migration.scheduled",  # the choice, or the owner's default, was scheduled for the renewal
    "price_migration.landed",  # after the renewal: the outcome and the subscription's MRR before and after
)
