"""The webhooks job: fan new events out to the enabled endpoints and send the deliveries that
are due (``delivery.run``), skipped while no endpoint is enabled and no delivery waits
(``delivery.has_work``). Registered from ``WebhooksConfig.ready()``."""

from __future__ import annotations

from assina.jobs import register_job

from .delivery import has_work, run


def register() -> None:
    # After billing and the other producers of events at each stop of the clock, and after the
    # mail is sent: a pass's mail never waits for receivers (sending is bounded in time anyway).
    register_job("webhook_deliveries", run, has_work=has_work, order=920, follows=True)
