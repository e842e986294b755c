"""Portal links (single use) and portal sessions, kept in the database so that the owner can see
and revoke them; and the requests for a link by e-mail, counted for the rate limit."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

FLOWS = (
    ("cancel", _("Cancel")),
    ("update_payment_method", _("Update payment method")),
    ("change_plan", _("Change plan")),
    ("switch_to_annual", _("Switch to annual")),
)


class PortalLink(models.Model):
    class Origin(models.TextChoices):
        API = "api", _("API or CLI")
        LOGIN = "login", _("asked for by e-mail")
        # A button in a message we sent: the link is signed into the message and gets its row when opened.
        EMAIL = "email", _("a button in a message")

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+", verbose_name=_("customer"))
    # Random, besides the signature: a link names a row nobody can guess even with the key's help.
    nonce = models.CharField(_("nonce"), max_length=32)
    origin = models.CharField(_("origin"), max_length=8, choices=Origin.choices)
    flow = models.CharField(_("flow"), max_length=32, choices=FLOWS, blank=True)
    return_url = models.URLField(_("return URL"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("portal link")
        verbose_name_plural = _("portal links")
        indexes = [models.Index(fields=["customer", "used_at"])]

    def __str__(self) -> str:
        return f"portal link {self.pk}"


class PortalSession(models.Model):
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+", verbose_name=_("customer"))
    link = models.OneToOneField(PortalLink, on_delete=models.CASCADE, related_name="session", verbose_name=_("link"))
    # The browser's cookie session holds this key; the row is the truth (revocation, idle timeout).
    key = models.CharField(_("key"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("started at"))
    last_seen_at = models.DateTimeField(_("last seen at"))
    revoked_at = models.DateTimeField(_("ended at"), null=True, blank=True)

    class Meta:
        verbose_name = _("portal session")
        verbose_name_plural = _("portal sessions")
        indexes = [models.Index(fields=["customer", "revoked_at"])]

    def __str__(self) -> str:
        return f"portal session {self.pk}"


class LinkRequest(models.Model):
    """One request at /portal/login, under two keys (the address and the client's IP)."""

    key = models.CharField(_("key"), max_length=300, db_index=True)
    at = models.DateTimeField(_("at"), db_index=True)

    class Meta:
        verbose_name = _("portal link request")
        verbose_name_plural = _("portal link requests")


class PortalSettings(models.Model):
    """What a customer may do in the portal: one row (pk 1), edited by the owner in the admin.

    Read with ``PortalSettings.current()``; without a row the defaults apply (nothing is written
    on a read: a GET never changes state)."""

    class Timing(models.TextChoices):
        PERIOD_END = "period_end", _("at the end of the paid period")
        NOW = "now", _("at once, with the unused time credited")

    any_base_plan = models.BooleanField(
        _("any active plan"), default=True,
        help_text=_("Customers may switch to any active plan in their currency and billing interval. "
                    "Uncheck to offer only the plans chosen below."))
    plans = models.ManyToManyField("catalog.Plan", blank=True, related_name="+", verbose_name=_("plans offered"),
                                   help_text=_("The plans customers may switch to when “any active plan” is off."))
    allow_quantity_change = models.BooleanField(_("customers may change the quantity"), default=True)
    downgrade_timing = models.CharField(_("downgrades take effect"), max_length=12, choices=Timing.choices,
                                        default=Timing.PERIOD_END)
    pause_1 = models.BooleanField(_("offer a pause of 1 period"), default=True)
    pause_2 = models.BooleanField(_("offer a pause of 2 periods"), default=True)
    pause_3 = models.BooleanField(_("offer a pause of 3 periods"), default=True)
    allow_addon_changes = models.BooleanField(_("customers may add and remove add-ons"), default=True)

    class Meta:
        verbose_name = _("portal settings")
        verbose_name_plural = _("portal settings")

    def __str__(self) -> str:
        return str(_("Portal settings"))

    def save(self, *args, **kwargs):
        self.pk = 1  # one row only
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> "PortalSettings":
        return cls.objects.filter(pk=1).first() or cls(pk=1)

    @property
    def pause_lengths(self) -> list[int]:
        """The pause lengths offered, in periods (empty: no pause)."""
        return [n for n, offered in ((1, self.pause_1), (2, self.pause_2), (3, self.pause_3)) if offered]
