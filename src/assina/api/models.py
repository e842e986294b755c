"""API keys, stored idempotent responses and the shared rate-limit buckets.

These rows are about HTTP clients, not about the business: their times are wall-clock times
(an API key is used "now" even when a sandbox's test clock says 2027).
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ApiKey(models.Model):
    """A secret a developer's code sends as ``Authorization: Bearer sk_<mode>_…``.

    Only the SHA-256 of the secret is kept: the secret has 256 bits of randomness, so a fast
    hash is as safe as a slow one and lets every request be checked with one indexed lookup.
    """

    class Scope(models.TextChoices):
        READ = "read", _("Read only")
        WRITE = "write", _("Read and write")

    name = models.CharField(_("name"), max_length=100, blank=True)
    mode = models.CharField(_("mode"), max_length=8, editable=False)
    scope = models.CharField(_("scope"), max_length=5, choices=Scope.choices, default=Scope.READ)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    # What lets an operator recognise a key without its secret: "sk_live_…a1b2".
    hint = models.CharField(_("key"), max_length=32, editable=False)
    created_at = models.DateTimeField(_("created at"), editable=False)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["id"]
        # A new key may carry full API access: minting one is a right granted on its own, not
        # implied by the rights to view, rename or revoke keys.
        default_permissions = ("view", "change")
        permissions = [("create_apikey", _("Can create API keys"))]

    def __str__(self) -> str:
        return f"{self.name or self.hint} ({self.hint})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(models.Model):
    """The first response to a POST with an ``Idempotency-Key``, replayed for 24 hours.

    The unique (api key, key) constraint is what makes two workers agree: the request whose
    insert wins runs; the other sees the row (in flight → 409, done → replay).
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+", verbose_name=_("API key"))
    key = models.CharField(_("idempotency key"), max_length=255)
    # SHA-256 of method, path and body: the same key with other parameters is refused.
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    method = models.CharField(_("method"), max_length=8)
    path = models.CharField(_("path"), max_length=500)
    response_status = models.PositiveSmallIntegerField(_("response status"), null=True, blank=True)
    response_body = models.BinaryField(_("response body"), null=True, blank=True)
    response_content_type = models.CharField(_("response content type"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created at"), db_index=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("idempotent request")
        verbose_name_plural = _("idempotent requests")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="api_idempotency_unique_key")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


def replay_window() -> timedelta:
    """How long an idempotent response is kept and replayed: ``ASSINA_API_IDEMPOTENCY_HOURS`` (24)."""
    return timedelta(hours=float(getattr(settings, "ASSINA_API_IDEMPOTENCY_HOURS", 24)))


class RateBucket(models.Model):
    """A token bucket per API key, shared by every web process through the database.

    A process takes a small lease of tokens at a time (one UPDATE) and spends it locally, so
    the database sees one write per lease, not per request (see ``assina.api.ratelimit``).
    """

    api_key = models.OneToOneField(ApiKey, on_delete=models.CASCADE, primary_key=True, related_name="+",
                                   verbose_name=_("API key"))
    tokens = models.FloatField(_("tokens"))
    updated = models.FloatField(_("updated (epoch seconds)"))

    class Meta:
        verbose_name = _("rate-limit bucket")
        verbose_name_plural = _("rate-limit buckets")
