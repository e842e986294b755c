"""The selling app's tables: checkout sessions, the owner's add-ons suggested at checkout, and
the checkout form's requests per client address (its rate limit)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from assina.catalog.models import Plan
from assina.customers.models import Customer
from assina.subscriptions.models import Subscription


class CheckoutSession(models.Model):
    """One purchase through checkout: made by the API (``POST /checkout_sessions``) or by the
    first POST of the /checkout/<plan>/ form (its key is the form's token). Whoever moves it from
    ``open`` to ``processing`` (one conditional UPDATE) makes the customer and the subscription;
    a second POST of the same form waits for that result instead: one customer, one
    subscription, one charge."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PROCESSING = "processing", _("Processing")
        COMPLETE = "complete", _("Complete")
        EXPIRED = "expired", _("Expired")

    class Outcome(models.TextChoices):
        NONE = "", _("None yet")
        SUBSCRIBED = "subscribed", _("Subscribed")
        # The e-mail was already a customer's: nothing was created or charged; a sign-in link was mailed.
        EXISTING_CUSTOMER = "existing_customer", _("E-mail already a customer's")

    class Origin(models.TextChoices):
        API = "api", _("API")
        PAGE = "page", _("Pricing page")

    key = models.CharField(_("id"), max_length=64, unique=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+", verbose_name=_("plan"))
    origin = models.CharField(_("origin"), max_length=8, choices=Origin.choices, default=Origin.PAGE)
    success_url = models.CharField(_("success URL"), max_length=2000, blank=True)
    cancel_url = models.CharField(_("cancel URL"), max_length=2000, blank=True)
    customer_email = models.CharField(_("e-mail given"), max_length=254, blank=True)
    promotion_code = models.CharField(_("promotion code"), max_length=64, blank=True)
    addons = models.JSONField(_("add-ons"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, default=Outcome.NONE, blank=True)
    locale = models.CharField(_("locale"), max_length=8, blank=True)
    customer = models.ForeignKey(Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                 verbose_name=_("customer"))
    subscription = models.ForeignKey(Subscription, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
                                     verbose_name=_("subscription"))
    # The customer's account at the gateway made for this checkout's card setup (Stripe), if any.
    gateway_customer = models.CharField(_("gateway customer"), max_length=128, blank=True)
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"))
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)  # wall clock: a crashed claim is taken over
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("checkout session")
        verbose_name_plural = _("checkout sessions")

    def __str__(self) -> str:
        return self.key


class CheckoutSuggestion(models.Model):
    """An add-on the owner suggests at the checkout of a plan (at most three per plan). Without
    any, checkout suggests the add-ons customers on that plan most often have."""

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="checkout_suggestions", verbose_name=_("plan"),
                             limit_choices_to={"kind": Plan.Kind.BASE})
    addon = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="+", verbose_name=_("add-on"),
                              limit_choices_to={"kind": Plan.Kind.ADDON})
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("add-on suggested at checkout")
        verbose_name_plural = _("add-ons suggested at checkout")
        ordering = ["plan", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["plan", "addon"], name="selling_suggestion_unique")]

    def __str__(self) -> str:
        return f"{self.plan.code} → {self.addon.code}"


class CheckoutRequest(models.Model):
    """One POST of the checkout form, by client address: the rate limit counts them."""

    key = models.CharField(_("key"), max_length=120, db_index=True)
    at = models.DateTimeField(_("at"), db_index=True)

    class Meta:
        verbose_name = _("checkout request")
        verbose_name_plural = _("checkout requests")
