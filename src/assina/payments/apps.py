from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "assina.payments"
    label = "payments"
    verbose_name = _("Payments")

    def ready(self):
        from assina.jobs import register_job

        from . import expiring, retries
        from .job_checks import expiring_cards_have_work, next_retry_or_final, retries_have_work

        # Retries and final actions must happen at their time, between renewals: the test
        # clock stops at each of them (next_due).
        register_job("payment_retries", retries.run, next_due=next_retry_or_final, has_work=retries_have_work,
                     order=10)
        # Notices of cards about to expire only follow the clock.
        register_job("expiring_cards", expiring.run, has_work=expiring_cards_have_work, order=50)
