from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import OuterRef, Subquery
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from assina.admin_actions import (
    INTERVAL_CHOICES,
    IntervalFilter,
    ReadOnlyAdmin,
    ReadOnlyInline,
    ServiceAddForm,
    ServiceAdmin,
    datetime_field,
    field_label,
    format_money,
    interval_label,
    parse_decimal_amount,
    parse_money_input,
    save_descriptive_fields,
)
from assina.time import now as clock_now
from assina.core.errors import DomainError
from assina.core.money import normalize_currency
from assina.core.periods import Interval
from assina.core.pricing import TIERED_MODELS, PricingModel
from assina.i18n import localized_message

from .models import (
    IMPORTED_VERSIONS_FROM, PRICING_MODELS, Bundle, BundleComponent, Coupon, Plan, PlanVersion, Product, PromotionCode,
)
from .services import (
    bundle_parts,
    change_plan_price,
    create_bundle,
    set_shipping,
    create_coupon,
    create_plan,
    create_promotion_code,
)

UNBOUNDED = {"*", "inf", "∞", "+"}


def _currency(form: forms.Form, field: str = "currency") -> str | None:
    """The form's currency, upper-cased; an unknown code is a form error."""
    code = (form.cleaned_data.get(field) or "").strip()
    if not code:
        return None
    try:
        return normalize_currency(code)
    except DomainError as exc:
        form.add_error(field, localized_message(exc))
        return None


def parse_tiers(text: str, currency: str) -> list[dict]:
    """One tier a line: ``UP_TO UNIT_PRICE [FLAT_FEE]``, with ``*`` as the last tier's UP_TO.

    Prices are decimals in the plan's currency ("10 5.00" = units 1-10 at 5.00 each).
    """
    tiers = []
    for number, line in enumerate(text.strip().splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) not in (2, 3):
            raise forms.ValidationError(_("Line %(line)d: write an upper bound, a unit price and optionally a flat fee.")
                                        % {"line": number})
        up_to_text = parts[0]
        if up_to_text in UNBOUNDED:
            up_to = None
        elif up_to_text.isdigit():
            up_to = int(up_to_text)
        else:
            raise forms.ValidationError(_("Line %(line)d: %(value)s is not a whole number or *.")
                                        % {"line": number, "value": up_to_text})
        try:
            unit = parse_decimal_amount(parts[1], currency)
            flat = parse_decimal_amount(parts[2], currency) if len(parts) == 3 else 0
        except DomainError as exc:
            raise forms.ValidationError(_("Line %(line)d: %(error)s") % {"line": number, "error": localized_message(exc)}) from None
        tiers.append({"up_to": up_to, "unit_amount": unit, "flat_amount": flat})
    return tiers


# --- products ----------------------------------------------------------------------------


class PlanOfProductInline(ReadOnlyInline):
    model = Plan
    fields = ("code", "name", "kind", "billing", "currency", "active")

    @admin.display(description=_("billing period"))
    def billing(self, obj):
        return interval_label(obj.interval, obj.interval_count)


@admin.register(Product)
class ProductAdmin(ServiceAdmin):
    # Products are created with their first plan (create_plan); here only names and the flag change.
    list_display = ("code", "name", "active", "created_at")
    list_filter = ("active",)
    search_fields = ("code", "name")
    fields = ("code", "name", "description", "active", "created_at")
    readonly_fields = ("code", "created_at")
    editable_fields = ("name", "description", "active")
    inlines = (PlanOfProductInline,)

    def save_model(self, request, obj, form, change):
        save_descriptive_fields(obj, [f for f in form.changed_data if f in self.editable_fields], "product.updated")

    def has_delete_permission(self, request, obj=None):
        return False


# --- plans -------------------------------------------------------------------------------


class PlanAddForm(ServiceAddForm):
    code = forms.SlugField(label=field_label(Plan, "code"), max_length=64,
                           help_text=_("Letters, digits, '-' and '_'; customers and the API refer to the plan by it."))
    name = forms.CharField(label=field_label(Plan, "name"), max_length=200)
    kind = forms.ChoiceField(label=field_label(Plan, "kind"), choices=Plan.Kind.choices, initial=Plan.Kind.BASE)
    product_code = forms.SlugField(label=_("product code"), max_length=64, required=False,
                                   help_text=_("Existing product to group the plan under; empty creates one named after the plan."))
    currency = forms.CharField(label=field_label(Plan, "currency"), max_length=3,
                               initial=lambda: settings.ASSINA_DEFAULT_CURRENCY)
    pricing_model = forms.ChoiceField(label=field_label(PlanVersion, "pricing_model"), choices=PRICING_MODELS,
                                      initial=PricingModel.FLAT.value)
    amount = forms.CharField(label=_("price"), max_length=32, required=False,
                             help_text=_("In major units, e.g. 49.90. Per unit or per package for those models."))
    package_size = forms.IntegerField(label=field_label(PlanVersion, "package_size"), min_value=1, initial=1)
    tiers = forms.CharField(label=field_label(PlanVersion, "tiers"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
                            help_text=_("Graduated and volume prices only. One tier a line: upper bound, unit price and "
                                        "optional flat fee; * for the last tier. Example: \"10 5.00\" then \"* 4.00\"."))
    interval = forms.ChoiceField(label=field_label(Plan, "interval"), choices=INTERVAL_CHOICES, initial=Interval.MONTH.value)
    interval_count = forms.IntegerField(label=field_label(Plan, "interval_count"), min_value=1, initial=1)
    trial_days = forms.IntegerField(label=field_label(Plan, "trial_days"), min_value=0, initial=0)

    class Meta(ServiceAddForm.Meta):
        model = Plan

    def clean(self):
        data = self.cleaned_data
        currency = _currency(self)
        model = data.get("pricing_model")
        tiered = model in {m.value for m in TIERED_MODELS}
        data["amount_minor"] = 0
        if currency:
            amount = parse_money_input(self, "amount", currency)
            if amount is not None:
                data["amount_minor"] = amount
            elif not tiered and "amount" not in self.errors:
                self.add_error("amount", _("Enter the price."))
            data["tier_list"] = []
            if tiered and "tiers" in data:
                try:
                    data["tier_list"] = parse_tiers(data["tiers"], currency)
                except forms.ValidationError as exc:
                    self.add_error("tiers", exc)
            elif not tiered and (data.get("tiers") or "").strip():
                self.add_error("tiers", _("Only graduated and volume prices have tiers."))
        return super().clean()

    def create(self, data: dict) -> Plan:
        return create_plan(
            code=data["code"], name=data["name"], amount=data["amount_minor"], currency=data["currency"],
            interval=data["interval"], at=clock_now(), interval_count=data["interval_count"],
            trial_days=data["trial_days"], pricing_model=data["pricing_model"], tiers=data["tier_list"] or None,
            package_size=data["package_size"], kind=data["kind"], product_code=data["product_code"] or None,
        )


class PlanChangeForm(forms.ModelForm):
    """Name and the active flag change in place; a new price or new tiers add a version
    (change_plan_price): new subscriptions pay it, existing ones keep theirs."""

    new_price = forms.CharField(
        label=capfirst(_("new price")), max_length=32, required=False,
        help_text=_("Adds a price version: new subscriptions pay it, existing ones keep their price. "
                    "In major units, e.g. 59.90."),
    )
    new_tiers = forms.CharField(
        label=capfirst(_("new tiers")), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Graduated and volume prices only: adds a price version with these tiers, written like "
                    "when the plan was added."),
    )

    ships = forms.BooleanField(label=capfirst(_("ships goods")), required=False,
                               help_text=_("Each period is a delivery to the customer's shipping address."))
    shipping_fee = forms.CharField(label=capfirst(_("shipping fee")), max_length=32, required=False,
                                   help_text=_("Per delivery, in major units, e.g. 15.00."))
    free_shipping = forms.CharField(label=capfirst(_("free shipping from")), max_length=32, required=False,
                                    help_text=_("Spend per period (after discounts) from which shipping is free; "
                                                "empty: never free."))
    max_skips = forms.IntegerField(label=capfirst(_("skipped deliveries allowed per year")), min_value=0,
                                   max_value=52, required=False)

    class Meta:
        model = Plan
        fields = ("name", "active")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        plan = self.instance
        if plan.pk and "ships" in self.fields:
            self.fields["ships"].initial = plan.ships_goods
            self.fields["shipping_fee"].initial = _decimal(plan.shipping_amount, plan.currency) if plan.shipping_amount else ""
            self.fields["free_shipping"].initial = _decimal(plan.free_shipping_from, plan.currency) \
                if plan.free_shipping_from is not None else ""
            self.fields["max_skips"].initial = plan.max_skips_per_year

    def _clean_shipping(self, data: dict) -> None:
        """The shipping fields, through ``set_shipping`` when they changed."""
        plan = self.instance
        if "ships" not in self.fields:
            return
        fee = parse_money_input(self, "shipping_fee", plan.currency) or 0
        free = parse_money_input(self, "free_shipping", plan.currency)
        skips = data.get("max_skips")
        new = (bool(data.get("ships")), fee, free, plan.max_skips_per_year if skips is None else skips)
        if self.errors or new == (plan.ships_goods, plan.shipping_amount, plan.free_shipping_from, plan.max_skips_per_year):
            return
        try:
            set_shipping(plan.code, ships_goods=new[0], fee=new[1], free_from=new[2], max_skips_per_year=new[3],
                         at=clock_now())
        except DomainError as exc:
            self.add_error("shipping_fee", localized_message(exc))
            return
        plan.ships_goods, plan.shipping_amount, plan.free_shipping_from, plan.max_skips_per_year = new

    def clean(self):
        data = super().clean()
        plan = self.instance
        self._clean_shipping(data)
        tiered = plan.current_version().pricing_model in {m.value for m in TIERED_MODELS}
        amount = parse_money_input(self, "new_price", plan.currency)
        tiers_text = (data.get("new_tiers") or "").strip()
        change = None
        if amount is not None:
            if tiered:
                self.add_error("new_price", _("This plan has tiered prices: enter new tiers instead."))
            else:
                change = {"amount": amount}
        if tiers_text:
            if not tiered:
                self.add_error("new_tiers", _("Only graduated and volume prices have tiers."))
            else:
                try:
                    change = {"amount": 0, "tiers": parse_tiers(tiers_text, plan.currency)}
                except forms.ValidationError as exc:
                    self.add_error("new_tiers", exc)
        if change and not self.errors:
            try:
                self.new_version = change_plan_price(plan.code, at=clock_now(), **change)
            except DomainError as exc:
                self.add_error("new_tiers" if "tiers" in change else "new_price", localized_message(exc))
        return data


class PlanVersionInline(ReadOnlyInline):
    model = PlanVersion
    fields = ("version", "pricing_model", "price", "package_size", "tiers", "created_at")
    show_change_link = False
    ordering = ("-version",)

    @admin.display(description=_("price"))
    def price(self, obj):
        return format_money(obj.unit_amount, obj.currency)


@admin.register(Plan)
class PlanAdmin(ServiceAdmin):
    add_form = PlanAddForm
    add_fieldsets = (
        (None, {"fields": ("code", "name", "kind", "product_code")}),
        (_("Price"), {"fields": ("currency", "pricing_model", "amount", "package_size", "tiers")}),
        (_("Billing"), {"fields": ("interval", "interval_count", "trial_days")}),
    )
    form = PlanChangeForm
    list_display = ("code", "name", "product", "kind", "price", "billing", "trial_days", "active", "created_at")
    list_filter = ("active", "kind", IntervalFilter, "currency")
    search_fields = ("code", "name", "product__code")
    date_hierarchy = "created_at"
    list_select_related = ("product",)
    fieldsets = (
        (None, {"fields": ("code", "name", "product", "kind", "active", "public", "created_at")}),
        (_("Price"), {"fields": ("price", "current_version", "parts", "new_price", "new_tiers")}),
        (_("Billing"), {"fields": ("billing", "trial_days", "currency")}),
        (_("Shipping"), {"fields": ("ships", "shipping_fee", "free_shipping", "max_skips")}),
    )
    readonly_fields = ("code", "product", "kind", "created_at", "price", "current_version", "parts", "billing",
                       "trial_days", "currency")
    editable_fields = ("name", "active", "public")
    inlines = (PlanVersionInline,)

    def get_queryset(self, request):
        latest = PlanVersion.objects.filter(plan=OuterRef("pk"), version__lt=IMPORTED_VERSIONS_FROM).order_by("-version")
        return super().get_queryset(request).annotate(
            current_amount=Subquery(latest.values("unit_amount")[:1]),
            current_pricing_model=Subquery(latest.values("pricing_model")[:1]),
            current_version_number=Subquery(latest.values("version")[:1]),
        )

    @admin.display(description=_("price"), ordering="current_amount")
    def price(self, obj):
        if obj.current_pricing_model in {m.value for m in TIERED_MODELS}:
            return dict(PRICING_MODELS).get(obj.current_pricing_model)
        return format_money(obj.current_amount, obj.currency)

    @admin.display(description=_("current version"))
    def current_version(self, obj):
        return obj.current_version_number

    @admin.display(description=_("bundle parts"))
    def parts(self, obj):
        return parts_text(obj)

    @admin.display(description=_("billing period"), ordering="interval")
    def billing(self, obj):
        return interval_label(obj.interval, obj.interval_count)

    def save_model(self, request, obj, form, change):
        if change:
            save_descriptive_fields(obj, [f for f in form.changed_data if f in self.editable_fields], "plan.updated")

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PlanVersion)
class PlanVersionAdmin(ReadOnlyAdmin):
    list_display = ("plan", "version", "pricing_model", "price", "package_size", "created_at")
    list_filter = ("pricing_model", "currency")
    search_fields = ("plan__code", "plan__name")
    date_hierarchy = "created_at"
    list_select_related = ("plan",)
    fields = ("plan", "version", "pricing_model", "price", "package_size", "tiers", "created_at")

    @admin.display(description=_("price"), ordering="unit_amount")
    def price(self, obj):
        return format_money(obj.unit_amount, obj.currency)


# --- coupons and promotion codes ---------------------------------------------------------


class CouponAddForm(ServiceAddForm):
    code = forms.SlugField(label=field_label(Coupon, "code"), max_length=64)
    name = forms.CharField(label=field_label(Coupon, "name"), max_length=200, required=False)
    percent_off = forms.DecimalField(label=field_label(Coupon, "percent_off"), max_digits=5, decimal_places=2,
                                     required=False, help_text=_("Either a percentage or an amount off."))
    amount_off = forms.CharField(label=_("amount off"), max_length=32, required=False,
                                 help_text=_("In major units, e.g. 10.00; needs a currency."))
    currency = forms.CharField(label=field_label(Coupon, "currency"), max_length=3, required=False)
    duration = forms.ChoiceField(label=field_label(Coupon, "duration"), choices=Coupon.DURATIONS)
    duration_periods = forms.IntegerField(label=field_label(Coupon, "duration_periods"), min_value=1, required=False,
                                          help_text=_("Repeating coupons only: how many billing periods."))
    plans = forms.ModelMultipleChoiceField(label=field_label(Coupon, "plans"), queryset=Plan.objects.all(),
                                           to_field_name="code", required=False,
                                           help_text=_("Empty: the coupon applies to every plan."))
    redeem_by = datetime_field(field_label(Coupon, "redeem_by"), required=False)
    max_redemptions = forms.IntegerField(label=field_label(Coupon, "max_redemptions"), min_value=1, required=False)

    class Meta(ServiceAddForm.Meta):
        model = Coupon

    def clean(self):
        currency = _currency(self)
        self.cleaned_data["amount_off_minor"] = None
        if (self.cleaned_data.get("amount_off") or "").strip():
            if currency is None and "currency" not in self.errors:
                self.add_error("currency", _("An amount-off coupon needs a currency."))
            elif currency:
                self.cleaned_data["amount_off_minor"] = parse_money_input(self, "amount_off", currency)
        self.cleaned_data["currency"] = currency
        return super().clean()

    def create(self, data: dict) -> Coupon:
        return create_coupon(
            code=data["code"], name=data["name"], duration=data["duration"], at=clock_now(),
            percent_off=data["percent_off"], amount_off=data["amount_off_minor"], currency=data["currency"],
            duration_periods=data["duration_periods"], plans=[p.code for p in data["plans"]] or None,
            redeem_by=data["redeem_by"], max_redemptions=data["max_redemptions"],
        )


@admin.register(Coupon)
class CouponAdmin(ServiceAdmin):
    add_form = CouponAddForm
    add_fieldsets = (
        (None, {"fields": ("code", "name")}),
        (_("Discount"), {"fields": ("percent_off", "amount_off", "currency", "duration", "duration_periods")}),
        (_("Limits"), {"fields": ("plans", "redeem_by", "max_redemptions")}),
    )
    list_display = ("code", "name", "discount", "duration", "duration_periods", "redemptions", "redeem_by", "active")
    list_filter = ("active", "duration")
    search_fields = ("code", "name")
    date_hierarchy = "created_at"
    fields = ("code", "name", "active", "discount", "duration", "duration_periods", "plans", "redeem_by",
              "max_redemptions", "times_redeemed", "created_at")
    readonly_fields = ("code", "discount", "duration", "duration_periods", "plans", "redeem_by", "max_redemptions",
                       "times_redeemed", "created_at")
    editable_fields = ("name", "active")

    @admin.display(description=_("discount"))
    def discount(self, obj):
        if obj.percent_off is not None:
            return f"{obj.percent_off.normalize():f}%"
        return format_money(obj.amount_off, obj.currency)

    @admin.display(description=_("redemptions"), ordering="times_redeemed")
    def redemptions(self, obj):
        if obj.max_redemptions is None:
            return str(obj.times_redeemed)
        return f"{obj.times_redeemed} / {obj.max_redemptions}"

    def save_model(self, request, obj, form, change):
        if change:
            save_descriptive_fields(obj, [f for f in form.changed_data if f in self.editable_fields], "coupon.updated")

    def has_delete_permission(self, request, obj=None):
        return False


class PromotionCodeAddForm(ServiceAddForm):
    code = forms.CharField(label=field_label(PromotionCode, "code"), max_length=64)
    coupon = forms.ModelChoiceField(label=field_label(PromotionCode, "coupon"), queryset=Coupon.objects.filter(active=True),
                                    to_field_name="code")
    expires_at = datetime_field(field_label(PromotionCode, "expires_at"), required=False)
    max_redemptions = forms.IntegerField(label=field_label(PromotionCode, "max_redemptions"), min_value=1, required=False)

    class Meta(ServiceAddForm.Meta):
        model = PromotionCode

    def create(self, data: dict) -> PromotionCode:
        return create_promotion_code(code=data["code"], coupon_code=data["coupon"].code, at=clock_now(),
                                     expires_at=data["expires_at"], max_redemptions=data["max_redemptions"])


@admin.register(PromotionCode)
class PromotionCodeAdmin(ServiceAdmin):
    add_form = PromotionCodeAddForm
    add_fieldsets = ((None, {"fields": ("code", "coupon", "expires_at", "max_redemptions")}),)
    list_display = ("code", "coupon", "active", "expires_at", "times_redeemed", "max_redemptions", "created_at")
    list_filter = ("active",)
    search_fields = ("code", "coupon__code")
    date_hierarchy = "created_at"
    list_select_related = ("coupon",)
    fields = ("code", "coupon", "active", "expires_at", "max_redemptions", "times_redeemed", "created_at")
    readonly_fields = ("code", "coupon", "expires_at", "max_redemptions", "times_redeemed", "created_at")
    editable_fields = ("active",)

    def save_model(self, request, obj, form, change):
        if change:
            save_descriptive_fields(obj, [f for f in form.changed_data if f in self.editable_fields], "promotion_code.updated")

    def has_delete_permission(self, request, obj=None):
        return False


# --- bundles -----------------------------------------------------------------------------


def _decimal(amount: int, currency: str) -> str:
    """Minor units as a plain decimal a form reads back (1500 BRL -> "15.00")."""
    from assina.core.money import Money

    return str(Money(amount, currency).to_decimal())


def parts_text(plan: Plan) -> str:
    """"Beans × 1 (R$49.90), Mug × 1 (R$29.90) · 15% off" of the plan's current version, or "—"."""
    version = plan.current_version()
    parts = bundle_parts(version) if version else []
    if not parts:
        return "—"
    text = ", ".join(f"{p.component.name} × {p.quantity} ({format_money(p.value, plan.currency)})" for p in parts)
    if version.bundle_percent_off is not None:
        text += " · " + _("%(percent)s%% off") % {"percent": version.bundle_percent_off.normalize()}
    return text


class BundleAddForm(ServiceAddForm):
    code = forms.SlugField(label=field_label(Plan, "code"), max_length=64)
    name = forms.CharField(label=field_label(Plan, "name"), max_length=200)
    parts = forms.CharField(label=_("parts"), widget=forms.Textarea(attrs={"rows": 4}),
                            help_text=_("One plan or add-on code a line, with its quantity: \"beans 1\" then \"mug 2\". "
                                        "At least two; same currency and billing period."))
    price = forms.CharField(label=_("bundle price"), max_length=32, required=False,
                            help_text=_("Per period, in major units, e.g. 69.90; below the parts' sum."))
    percent_off = forms.DecimalField(label=capfirst(_("bundle percent off")), max_digits=5, decimal_places=2,
                                     min_value=0, max_value=100, required=False,
                                     help_text=_("Or a percentage off the sum of the parts (the discount is rounded "
                                                 "half up once)."))
    trial_days = forms.IntegerField(label=field_label(Plan, "trial_days"), min_value=0, max_value=730, initial=0)

    class Meta(ServiceAddForm.Meta):
        model = Bundle

    def clean(self):
        data = self.cleaned_data
        parts = []
        for number, line in enumerate((data.get("parts") or "").strip().splitlines(), start=1):
            words = line.split()
            if not words:
                continue
            if len(words) > 2 or (len(words) == 2 and not words[1].isdigit()):
                self.add_error("parts", _("Line %(number)s: write a code and a quantity, like \"mug 2\".")
                               % {"number": number})
                break
            parts.append((words[0], int(words[1]) if len(words) == 2 else 1))
        data["part_list"] = parts
        data["price_minor"] = None
        if parts and (data.get("price") or "").strip():
            currency = Plan.objects.filter(code=parts[0][0]).values_list("currency", flat=True).first()
            data["price_minor"] = parse_money_input(self, "price", currency)
        return super().clean()

    def create(self, data: dict) -> Plan:
        return create_bundle(code=data["code"], name=data["name"], parts=data["part_list"], price=data["price_minor"],
                             percent_off=data.get("percent_off"), trial_days=data["trial_days"], at=clock_now())


@admin.register(Bundle)
class BundleAdmin(ServiceAdmin):
    """Bundles only: their parts and price. A bundle is a plan (subscribed to, changed and billed
    like one); its name and shipping are edited on the plan's page."""

    add_form = BundleAddForm
    add_fieldsets = ((None, {"fields": ("code", "name", "parts", "price", "percent_off", "trial_days")}),)
    list_display = ("code", "name", "price", "parts", "billing", "active")
    search_fields = ("code", "name")
    fields = ("code", "name", "price", "parts", "billing", "ships_goods", "active")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).filter(
            pk__in=BundleComponent.objects.values("plan_version__plan_id")).select_related("product")

    @admin.display(description=_("price"))
    def price(self, obj):
        version = obj.current_version()
        return format_money(version.unit_amount, obj.currency) if version else "—"

    @admin.display(description=_("bundle parts"))
    def parts(self, obj):
        return parts_text(obj)

    @admin.display(description=_("billing period"))
    def billing(self, obj):
        return interval_label(obj.interval, obj.interval_count)

    def has_delete_permission(self, request, obj=None):
        return False
