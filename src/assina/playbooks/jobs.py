"""The playbooks app's job: every active playbook is checked once an hour (``services.EVERY``).
It follows what other jobs did (health scores, payments, responses) and stops the test clock at
no time of its own."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from assina.jobs import register_job

from .models import Playbook
from .services import EVERY, run_playbooks


def has_work(until: datetime) -> bool:
    return Playbook.objects.filter(Q(checked_at__isnull=True) | Q(checked_at__lte=until - EVERY), active=True).exists()


def register() -> None:
    register_job("playbooks", lambda until, *, at_due_time: {"playbook_runs": run_playbooks(until)["fired"]},
                 has_work=has_work, order=90)
