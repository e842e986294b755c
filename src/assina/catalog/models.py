"""Products, plans with immutable price versions, add-ons, coupons and promotion codes."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from assina.core.discounts import Coupon as CoreCoupon
from assina.core.discounts import CouponDuration
from assina.core.periods import Interval
from assina.core.pricing import PriceSpec, PricingModel, Tier

INTERVALS = [
    (Interval.DAY.value, _("day")),
    (Interval.WEEK.value, _("week")),
    (Interval.MONTH.value, _("month")),
    (Interval.YEAR.value, _("year")),
]
PRICING_MODELS = [
    (PricingModel.FLAT.value, _("Flat")),
    (PricingModel.PER_UNIT.value, _("Per unit (seats)")),
    (PricingModel.GRADUATED.value, _("Graduated tiers")),
    (PricingModel.VOLUME.value, _("Volume tiers")),
    (PricingModel.PACKAGE.value, _("Package")),
]


class Product(models.Model):
    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


# Versions numbered from here hold a price that imported history was paid at (``assina import
# subscriptions``, when it differs from every version of the plan): imported items keep them,
# nothing is ever sold or billed at them, and they are never the plan's current version.
IMPORTED_VERSIONS_FROM = 1_000_000


class Plan(models.Model):
    """What a customer subscribes to. Its price lives in versions: a price change adds a version,
    existing subscriptions keep theirs (grandfathering), new ones take the newest."""

    class Kind(models.TextChoices):
        BASE = "base", _("Plan")
        ADDON = "addon", _("Add-on")

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="plans", verbose_name=_("product"))
    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.BASE)
    interval = models.CharField(_("interval"), max_length=8, choices=INTERVALS)
    interval_count = models.PositiveSmallIntegerField(_("interval count"), default=1)
    trial_days = models.PositiveSmallIntegerField(_("trial days"), default=0)
    currency = models.CharField(_("currency"), max_length=3)
    active = models.BooleanField(_("active"), default=True)
    # Listed on the hosted pricing page (/pricing/) and sold through checkout.
    public = models.BooleanField(_("on the pricing page"), default=False)
    # Physical goods: the customer gives a shipping address and each period is a delivery.
    ships_goods = models.BooleanField(_("ships goods"), default=False)
    # Per delivery (period), in minor units; free when the period's items reach the threshold.
    shipping_amount = models.BigIntegerField(_("shipping fee (minor units)"), default=0)
    free_shipping_from = models.BigIntegerField(_("free shipping from (minor units per period)"), null=True, blank=True)
    max_skips_per_year = models.PositiveSmallIntegerField(_("skipped deliveries allowed per year"), default=2)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(interval_count__gte=1), name="plan_interval_count_positive"),
            models.CheckConstraint(condition=models.Q(shipping_amount__gte=0), name="plan_shipping_amount_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def current_version(self) -> "PlanVersion":
        return self.versions.filter(version__lt=IMPORTED_VERSIONS_FROM).order_by("-version").first()


class PlanVersion(models.Model):
    """An immutable price of a plan. Never edited: a new price is a new version."""

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="versions", verbose_name=_("plan"))
    version = models.PositiveIntegerField(_("version"))
    pricing_model = models.CharField(_("pricing model"), max_length=16, choices=PRICING_MODELS, default=PricingModel.FLAT.value)
    currency = models.CharField(_("currency"), max_length=3)
    unit_amount = models.BigIntegerField(_("amount (minor units)"), default=0)
    # [{"up_to": 10 | null, "unit_amount": 500, "flat_amount": 0}, ...]
    tiers = models.JSONField(_("tiers"), default=list, blank=True)
    package_size = models.PositiveIntegerField(_("package size"), default=1)
    # A bundle priced as a percentage off the sum of its parts (its flat amount was computed from it).
    bundle_percent_off = models.DecimalField(_("bundle percent off"), max_digits=5, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("plan version")
        verbose_name_plural = _("plan versions")
        ordering = ["plan", "version"]
        constraints = [models.UniqueConstraint(fields=["plan", "version"], name="plan_version_unique")]

    def __str__(self) -> str:
        return f"{self.plan.code} v{self.version}"

    def price_spec(self) -> PriceSpec:
        return PriceSpec(
            model=PricingModel(self.pricing_model),
            currency=self.currency,
            unit_amount=self.unit_amount,
            tiers=tuple(Tier(up_to=t.get("up_to"), unit_amount=t.get("unit_amount", 0), flat_amount=t.get("flat_amount", 0)) for t in self.tiers),
            package_size=self.package_size,
        )


class Bundle(Plan):
    """The admin's view of the plans that are bundles (their current version has parts)."""

    class Meta:
        proxy = True
        verbose_name = _("bundle")
        verbose_name_plural = _("bundles")


class BundleComponent(models.Model):
    """A part of a bundle: a plan version with parts is a bundle (``core.bundles``). The parts
    belong to the version, like its price: a bundle's new version may change them, subscribers
    keep theirs."""

    plan_version = models.ForeignKey(PlanVersion, on_delete=models.CASCADE, related_name="bundle_parts", verbose_name=_("bundle version"))
    component = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="+", verbose_name=_("part"))
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    # What the part alone cost per period at this quantity when the version was made.
    value = models.BigIntegerField(_("value (minor units)"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("bundle part")
        verbose_name_plural = _("bundle parts")
        ordering = ["plan_version", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["plan_version", "component"], name="bundle_component_unique")]

    def __str__(self) -> str:
        return f"{self.component.code} x{self.quantity}"


class Coupon(models.Model):
    DURATIONS = [(CouponDuration.ONCE.value, _("Once")), (CouponDuration.REPEATING.value, _("Repeating")), (CouponDuration.FOREVER.value, _("Forever"))]

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200, blank=True)
    percent_off = models.DecimalField(_("percent off"), max_digits=5, decimal_places=2, null=True, blank=True)
    amount_off = models.BigIntegerField(_("amount off (minor units)"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    duration = models.CharField(_("duration"), max_length=10, choices=DURATIONS)
    duration_periods = models.PositiveSmallIntegerField(_("duration in periods"), null=True, blank=True)
    plans = models.ManyToManyField(Plan, blank=True, related_name="coupons", verbose_name=_("restricted to plans"))
    redeem_by = models.DateTimeField(_("redeem by"), null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(_("max redemptions"), null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(_("times redeemed"), default=0)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name or self.code

    def to_core(self) -> CoreCoupon:
        # The plans it is limited to: as read with the coupon (``catalog.queries.promotion_code``
        # sets ``plan_codes``), else the prefetched plans when the caller loaded them (the billing
        # run does), else one query.
        plan_codes = getattr(self, "plan_codes", None)
        if plan_codes is None:
            plan_codes = frozenset(p.code for p in self.plans.all())
        return CoreCoupon(
            code=self.code,
            duration=CouponDuration(self.duration),
            percent_off=self.percent_off,
            amount_off=self.amount_off,
            currency=self.currency or None,
            duration_periods=self.duration_periods,
            applies_to_plans=plan_codes or None,
            redeem_by=self.redeem_by,
            max_redemptions=self.max_redemptions,
        )


class PromotionCode(models.Model):
    """A customer-facing code (e.g. BLACKFRIDAY) that redeems a coupon, with its own limits."""

    code = models.CharField(_("code"), max_length=64, unique=True)
    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="promotion_codes", verbose_name=_("coupon"))
    active = models.BooleanField(_("active"), default=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(_("max redemptions"), null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(_("times redeemed"), default=0)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("promotion code")
        verbose_name_plural = _("promotion codes")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Metric(models.Model):
    """What usage events measure (API calls, GB stored, active users) and how a period's events
    add up to the quantity a metered price bills."""

    class Aggregation(models.TextChoices):
        SUM = "sum", _("Sum of values")
        MAX = "max", _("Maximum value")
        COUNT = "count", _("Number of events")
        UNIQUE_COUNT = "unique_count", _("Number of distinct values of a property")

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    aggregation = models.CharField(_("aggregation"), max_length=16, choices=Aggregation.choices, default=Aggregation.SUM)
    # For unique counts: the event property whose distinct values are counted (e.g. "user_id").
    unique_property = models.CharField(_("counted property"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("metric")
        verbose_name_plural = _("metrics")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class MeteredPrice(models.Model):
    """A price component of a plan version billed in arrears from the usage of each closed
    period (per unit, graduated, volume or package pricing of the aggregated quantity)."""

    plan_version = models.ForeignKey(PlanVersion, on_delete=models.PROTECT, related_name="metered_prices", verbose_name=_("plan version"))
    metric = models.ForeignKey(Metric, on_delete=models.PROTECT, related_name="prices", verbose_name=_("metric"))
    pricing_model = models.CharField(_("pricing model"), max_length=16, choices=PRICING_MODELS, default=PricingModel.PER_UNIT.value)
    unit_amount = models.BigIntegerField(_("amount (minor units)"), default=0)
    tiers = models.JSONField(_("tiers"), default=list, blank=True)
    package_size = models.PositiveIntegerField(_("package size"), default=1)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("metered price")
        verbose_name_plural = _("metered prices")
        ordering = ["plan_version", "metric"]
        constraints = [models.UniqueConstraint(fields=["plan_version", "metric"], name="metered_price_unique")]

    def __str__(self) -> str:
        return f"{self.plan_version} · {self.metric.code}"

    def price_spec(self) -> PriceSpec:
        return PriceSpec(
            model=PricingModel(self.pricing_model),
            currency=self.plan_version.currency,
            unit_amount=self.unit_amount,
            tiers=tuple(Tier(up_to=t.get("up_to"), unit_amount=t.get("unit_amount", 0), flat_amount=t.get("flat_amount", 0)) for t in self.tiers),
            package_size=self.package_size,
        )
