"""What a customer does in the business's product, and what the owner knows about them.

- ``EngagementEvent``: one thing a customer did (``login``, ``report_exported``), sent by the
  business's application or imported from its past; unique by the sender's ``event_id``, so a
  retried batch stores nothing twice.
- ``CustomerNote``: a support interaction or a note the owner keeps (note, call, ticket, meeting).
- ``Task``: something the owner (or a playbook) decided to do for a customer, with a due date.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class EngagementEvent(models.Model):
    id = models.BigAutoField(_("id"), primary_key=True)
    # The sender's id (or, for an imported row, one derived from the row): the same id stores nothing twice.
    event_id = models.CharField(_("event id"), max_length=128, unique=True)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("customer"), db_index=False)
    name = models.CharField(_("name"), max_length=64)
    occurred_at = models.DateTimeField(_("occurred at"))
    value = models.FloatField(_("value"), null=True, blank=True)
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    # Brought in by ``assina import events``: history, counted by health and the churn model.
    imported = models.BooleanField(_("imported"), default=False)
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        verbose_name = _("engagement event")
        verbose_name_plural = _("engagement events")
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="engagement_customer_time_idx"),
            models.Index(fields=["name", "occurred_at"], name="engagement_name_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class FirstEvent(models.Model):
    """A customer's first event of each name (onboarding's milestones read it instead of grouping
    every event). Kept by the database (migration 0003: a trigger on every engagement event
    stored, by any path, in the same transaction): the earlier time wins, so the order events
    arrive in and a re-sent event change nothing. Events are never deleted (erasure clears their
    properties), so it only grows."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("customer"), db_index=False)
    name = models.CharField(_("name"), max_length=64)
    first_at = models.DateTimeField(_("first at"))

    class Meta:
        verbose_name = _("first event")
        verbose_name_plural = _("first events")
        constraints = [models.UniqueConstraint(fields=["customer", "name"], name="first_event_unique")]
        indexes = [models.Index(fields=["name", "customer"], name="first_event_name_idx")]

    def __str__(self) -> str:
        return f"{self.name} @ {self.first_at:%Y-%m-%d %H:%M}"


class CustomerNote(models.Model):
    class Kind(models.TextChoices):
        NOTE = "note", _("Note")
        CALL = "call", _("Call")
        TICKET = "ticket", _("Support ticket")
        MEETING = "meeting", _("Meeting")

    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="notes",
                                 verbose_name=_("customer"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.NOTE)
    body = models.TextField(_("text"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+", verbose_name=_("author"))
    # When the interaction happened (a call yesterday is written down today).
    occurred_at = models.DateTimeField(_("occurred at"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("note")
        verbose_name_plural = _("notes")
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["customer", "occurred_at"], name="note_customer_time_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.body[:60]}"


class Task(models.Model):
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="tasks",
                                 verbose_name=_("customer"))
    title = models.CharField(_("title"), max_length=200)
    due_at = models.DateTimeField(_("due"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    # Who asked for it: empty for the owner, "playbook:<id>" for a playbook's run.
    source = models.CharField(_("source"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["done_at", "due_at", "id"]
        indexes = [models.Index(fields=["customer", "done_at"], name="task_customer_open_idx")]

    def __str__(self) -> str:
        return self.title


class OnboardingMilestone(models.Model):
    """A step of onboarding the owner defines: the first ``event_name`` event of a customer marks
    it reached; it should happen within ``due_days`` days of signing up. The milestone marked
    ``first_value`` (else the first in order) is the customer's first value."""

    name = models.CharField(_("name"), max_length=100)
    event_name = models.CharField(_("event name"), max_length=64,
                                  help_text=_("The engagement event that marks this milestone, e.g. report_exported."))
    due_days = models.PositiveSmallIntegerField(_("due by day"),
                                                help_text=_("Days after signing up by which it should happen."))
    first_value = models.BooleanField(_("marks first value"), default=False,
                                      help_text=_("Time to first value is measured to this milestone."))
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("onboarding milestone")
        verbose_name_plural = _("onboarding milestones")
        ordering = ["position", "due_days", "id"]
        constraints = [models.UniqueConstraint(fields=["event_name"], name="milestone_event_unique")]

    def __str__(self) -> str:
        return self.name
