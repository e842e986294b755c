"""Whether the billing job has anything to do: the check the job runner makes before a pass.

Every piece of billing work (renewal, trial end, scheduled change, period-end cancellation,
resume, incomplete expiry) sets ``Subscription.next_action_at``, which is indexed, so one
lookup answers for all of them; a payment attempt left pending by a crash is the other reason
to run (the pass reconciles it).
"""

from __future__ import annotations

from datetime import datetime

from assina.payments.models import PaymentAttempt

from .models import Subscription


def has_work(until: datetime) -> bool:
    return (Subscription.objects.filter(next_action_at__lte=until).exists()
            or PaymentAttempt.objects.filter(status=PaymentAttempt.Status.PENDING).exists())
