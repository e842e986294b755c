from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    name = "assina.subscriptions"
    label = "subscriptions"
    verbose_name = _("Subscriptions")

    def ready(self):
        from assina.jobs import register_job

        from . import reactions
        from .due_times import has_work
        from .due_work import process_due_work

        # How a subscription follows what invoices and payments state (see assina.dispatch).
        reactions.register()
        # Billing orders its own work by due time, so it needs no clock stops of its own.
        register_job("billing", lambda until, *, at_due_time: process_due_work(until, at_due_time=at_due_time),
                     has_work=has_work, order=0)
