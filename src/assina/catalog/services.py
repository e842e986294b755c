"""Use cases of the catalog: plans and their price versions, add-ons, coupons, promotion codes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils.translation import gettext as _

from assina.core.bundles import InvalidBundle, bundle_amount, parse_percent, part_value, saving
from assina.core.discounts import Coupon as CoreCoupon
from assina.core.discounts import CouponDuration, check_redeemable
from assina.core.errors import DomainError
from assina.core.input_bounds import EARLIEST, LATEST, date_in_bounds
from assina.core.money import normalize_currency
from assina.core.periods import validate_interval
from assina.core.pricing import PriceSpec, PricingModel, Tier
from assina.events.services import record
from assina.i18n import localized_message

from . import queries
from .models import IMPORTED_VERSIONS_FROM, BundleComponent, Coupon, Plan, PlanVersion, Product, PromotionCode


class CatalogError(DomainError):
    pass


def _price_spec(pricing_model: str, currency: str, unit_amount: int, tiers: list[dict] | None, package_size: int) -> PriceSpec:
    try:
        model = PricingModel(pricing_model)
    except ValueError:
        raise CatalogError(_("unknown pricing model %(model)s (use one of: %(models)s)")
                           % {"model": repr(pricing_model), "models": ", ".join(m.value for m in PricingModel)}) from None
    # PriceSpec validates amounts, tiers and the package size.
    return PriceSpec(model=model, currency=currency, unit_amount=unit_amount,
                     tiers=tuple(Tier(**t) for t in (tiers or [])), package_size=package_size)


def create_plan(*, code: str, name: str, amount: int, currency: str, interval: str, at: datetime,
                interval_count: int = 1, trial_days: int = 0, pricing_model: str = "flat",
                tiers: list[dict] | None = None, package_size: int = 1, kind: str = "base",
                product_code: str | None = None) -> Plan:
    currency = normalize_currency(currency)
    unit = validate_interval(interval, interval_count)
    if not code or not code.replace("-", "").replace("_", "").isalnum():
        raise CatalogError(_("a plan code uses letters, digits, '-' and '_' only"))
    if trial_days < 0 or trial_days > 730:
        raise CatalogError(_("trial days must be between 0 and 730"))
    if kind not in ("base", "addon"):
        raise CatalogError(_("a plan is either 'base' or 'addon'"))
    _price_spec(pricing_model, currency, amount, tiers, package_size)
    with transaction.atomic():
        if Plan.objects.filter(code=code).exists():
            raise CatalogError(_("a plan with code %(code)s already exists") % {"code": repr(code)})
        product, _created = Product.objects.get_or_create(code=product_code or code, defaults={"name": name, "created_at": at})
        plan = Plan.objects.create(product=product, code=code, name=name, kind=kind, interval=unit.value,
                                   interval_count=interval_count, trial_days=trial_days, currency=currency, created_at=at)
        PlanVersion.objects.create(plan=plan, version=1, pricing_model=pricing_model, currency=currency,
                                             unit_amount=amount, tiers=tiers or [], package_size=package_size, created_at=at)
        record("plan.created", plan, at, {"code": code, "version": 1, "amount": amount, "currency": currency})
    return plan


def change_plan_price(plan_code: str, *, amount: int, at: datetime, pricing_model: str | None = None,
                      tiers: list[dict] | None = None, package_size: int | None = None) -> PlanVersion:
    """Add a new price version. New subscriptions take it; existing ones keep theirs (grandfathered)."""
    with transaction.atomic():
        plan = get_plan(plan_code)
        current = plan.versions.select_for_update().filter(version__lt=IMPORTED_VERSIONS_FROM).order_by("-version").first()
        model = pricing_model or current.pricing_model
        size = package_size if package_size is not None else current.package_size
        new_tiers = tiers if tiers is not None else (current.tiers if model == current.pricing_model else [])
        _price_spec(model, plan.currency, amount, new_tiers, size)
        version = PlanVersion.objects.create(plan=plan, version=current.version + 1, pricing_model=model,
                                             currency=plan.currency, unit_amount=amount, tiers=new_tiers,
                                             package_size=size, created_at=at)
        # A bundle's new price keeps its parts (a new bundle is made for other parts).
        BundleComponent.objects.bulk_create([
            BundleComponent(plan_version=version, component_id=p.component_id, quantity=p.quantity, value=p.value,
                            position=p.position) for p in current.bundle_parts.all()])
        record("plan.price_changed", plan, at, {"code": plan.code, "version": version.version,
                                                "previous_amount": current.unit_amount, "amount": amount})
    return version


def get_plan(code: str) -> Plan:
    plan = Plan.objects.filter(code=code).first()
    if plan is None:
        raise CatalogError(_("unknown plan %(code)s") % {"code": repr(code)})
    return plan


def create_coupon(*, code: str, duration: str, at: datetime, percent_off: str | Decimal | None = None,
                  amount_off: int | None = None, currency: str | None = None, duration_periods: int | None = None,
                  plans: list[str] | None = None, redeem_by: datetime | None = None,
                  max_redemptions: int | None = None, name: str = "") -> Coupon:
    try:
        percent = Decimal(str(percent_off)) if percent_off is not None else None
        if percent is not None and not percent.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise CatalogError(_("percent off must be a number, not %(value)s") % {"value": repr(percent_off)}) from None
    try:
        kind = CouponDuration(duration)
    except ValueError:
        raise CatalogError(_("a coupon lasts 'once', 'repeating' or 'forever'")) from None
    if redeem_by is not None and not date_in_bounds(redeem_by):
        raise CatalogError(_("the redeem-by date %(date)s must fall between the years %(earliest)s and %(latest)s")
                           % {"date": redeem_by.isoformat(), "earliest": EARLIEST.year, "latest": LATEST.year - 1})
    currency = normalize_currency(currency) if currency else None
    # The core coupon validates the combination (one of percent/amount, periods iff repeating...).
    CoreCoupon(code=code, duration=kind, percent_off=percent, amount_off=amount_off, currency=currency,
               duration_periods=duration_periods, redeem_by=redeem_by, max_redemptions=max_redemptions)
    with transaction.atomic():
        if Coupon.objects.filter(code=code).exists():
            raise CatalogError(_("a coupon with code %(code)s already exists") % {"code": repr(code)})
        # A typed code is read as a promotion code first (``redeem``): a coupon with the same letters
        # could never be reached by its own code.
        if PromotionCode.objects.filter(code__iexact=code).exists():
            raise CatalogError(_("%(code)s is already a promotion code: choose another code for the coupon")
                               % {"code": repr(code)})
        restricted = [get_plan(c) for c in (plans or [])]
        coupon = Coupon.objects.create(code=code, name=name, percent_off=percent, amount_off=amount_off,
                                       currency=currency or "", duration=kind.value, duration_periods=duration_periods,
                                       redeem_by=redeem_by, max_redemptions=max_redemptions, created_at=at)
        coupon.plans.set(restricted)
        record("coupon.created", coupon, at, {"code": code})
    return coupon


def create_promotion_code(*, code: str, coupon_code: str, at: datetime, expires_at: datetime | None = None,
                          max_redemptions: int | None = None) -> PromotionCode:
    if expires_at is not None and not date_in_bounds(expires_at):
        raise CatalogError(_("the expiry date %(date)s must fall between the years %(earliest)s and %(latest)s")
                           % {"date": expires_at.isoformat(), "earliest": EARLIEST.year, "latest": LATEST.year - 1})
    with transaction.atomic():
        coupon = Coupon.objects.filter(code=coupon_code).first()
        if coupon is None:
            raise CatalogError(_("unknown coupon %(code)s") % {"code": repr(coupon_code)})
        if PromotionCode.objects.filter(code__iexact=code).exists():
            raise CatalogError(_("a promotion code %(code)s already exists") % {"code": repr(code)})
        # Customers typing another coupon's own code would get this coupon instead (``redeem``).
        if Coupon.objects.filter(code__iexact=code).exclude(pk=coupon.pk).exists():
            raise CatalogError(_("%(code)s is already the code of another coupon: choose another promotion code")
                               % {"code": repr(code)})
        promo = PromotionCode.objects.create(code=code, coupon=coupon, expires_at=expires_at,
                                             max_redemptions=max_redemptions, created_at=at)
        record("promotion_code.created", promo, at, {"code": code, "coupon": coupon.code})
    return promo


def redeem(code: str, plan_code: str, at: datetime) -> Coupon:
    """Redeem a coupon code or a promotion code for a plan; counts the redemption atomically.

    Runs in the caller's transaction so a failed subscription gives the redemption back.
    """
    found = queries.promotion_code(code)
    if found is not None:
        (promo_id, active, expires_at, max_redemptions, _times), coupon = found
        if not active or (expires_at and at >= expires_at):
            raise CatalogError(_("promotion code %(code)s has expired") % {"code": repr(code)})
        if not queries.count_redemption(PromotionCode, promo_id, max_redemptions):
            raise CatalogError(_("promotion code %(code)s has reached its maximum number of redemptions")
                               % {"code": repr(code)})
    else:
        coupon = Coupon.objects.filter(code=code).first()
        if coupon is None:
            raise CatalogError(_("unknown coupon or promotion code %(code)s") % {"code": repr(code)})
        # The plans it is limited to, read once for every ``to_core`` of this redemption.
        prefetch_related_objects([coupon], "plans")
    return redeem_coupon(coupon, plan_code, at)


def check_promotion_code(code: str, plan_code: str, at: datetime) -> Coupon | None:
    """Whether ``redeem(code, plan_code, at)`` would take the promotion code ``code`` now,
    without writing anything (checkout checks a typed code before it makes anything): its coupon,
    ``None`` when no promotion code has those letters, else the ``CatalogError`` or
    ``CouponNotApplicable`` that ``redeem`` would raise, in the same order. One query (two when
    the coupon is limited to some plans). ``redeem`` in the same transaction as the purchase
    still decides: a code's last redemption may go to someone else in between."""
    found = queries.promotion_code(code)
    if found is None:
        return None
    (_promo_id, active, expires_at, max_redemptions, times_redeemed), coupon = found
    if not active or (expires_at and at >= expires_at):
        raise CatalogError(_("promotion code %(code)s has expired") % {"code": repr(code)})
    if max_redemptions is not None and times_redeemed >= max_redemptions:
        raise CatalogError(_("promotion code %(code)s has reached its maximum number of redemptions")
                           % {"code": repr(code)})
    if not coupon.active:
        raise CatalogError(_("coupon %(code)s is no longer active") % {"code": repr(coupon.code)})
    check_redeemable(coupon.to_core(), plan_code, at, coupon.times_redeemed)
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise CatalogError(_("coupon %(code)s has reached its maximum number of redemptions") % {"code": repr(coupon.code)})
    return coupon


def redeem_coupon(coupon: Coupon, plan_code: str, at: datetime) -> Coupon:
    """Redeem this coupon itself for a plan (an offer made with it: no code typed, so never read as
    a promotion code of the same letters); counts the redemption atomically, in the caller's
    transaction."""
    if not coupon.active:
        raise CatalogError(_("coupon %(code)s is no longer active") % {"code": repr(coupon.code)})
    check_redeemable(coupon.to_core(), plan_code, at, coupon.times_redeemed)
    if not queries.count_redemption(Coupon, coupon.pk, coupon.max_redemptions):
        raise CatalogError(_("coupon %(code)s has reached its maximum number of redemptions") % {"code": repr(coupon.code)})
    return coupon


def create_bundle(*, code: str, name: str, parts: list[tuple[str, int]], at: datetime, price: int | None = None,
                  percent_off: str | Decimal | None = None, product_code: str | None = None,
                  trial_days: int = 0) -> Plan:
    """A bundle: a plan whose version has parts (other plans or add-ons, each with a quantity),
    sold at ``price`` or ``percent_off`` the sum of the parts' current prices
    (``core.bundles.bundle_amount``). The parts share the bundle's currency and interval; the
    bundle ships goods when any part does (with the first such part's shipping terms)."""
    if not parts:
        raise CatalogError(_("a bundle needs at least two parts"))
    with transaction.atomic():
        components = []
        for part_code, quantity in parts:
            part = get_plan(part_code)
            if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
                raise CatalogError(_("a part's quantity must be a whole number of at least 1"))
            if not part.active:
                raise CatalogError(_("%(code)s is no longer offered") % {"code": repr(part.code)})
            if part.versions.filter(bundle_parts__isnull=False).exists():
                raise CatalogError(_("%(code)s is itself a bundle") % {"code": repr(part.code)})
            components.append((part, quantity))
        if len({p.pk for p, _q in components}) != len(components):
            raise CatalogError(_("a bundle lists each part once (give it a quantity instead)"))
        first = components[0][0]
        for part, _q in components:
            if (part.currency, part.interval, part.interval_count) != (first.currency, first.interval, first.interval_count):
                raise CatalogError(_("a bundle's parts must bill in the same currency and interval (%(code)s does not)")
                                   % {"code": repr(part.code)})
        values = [part_value(part.current_version().price_spec(), quantity) for part, quantity in components]
        try:
            amount = bundle_amount(values, price=price,
                                   percent_off=parse_percent(percent_off) if percent_off not in (None, "") else None)
        except InvalidBundle as exc:
            raise CatalogError(localized_message(exc)) from None
        plan = create_plan(code=code, name=name, amount=amount, currency=first.currency, interval=first.interval,
                           interval_count=first.interval_count, trial_days=trial_days, at=at,
                           product_code=product_code)
        shipped = next((part for part, _q in components if part.ships_goods), None)
        if shipped is not None:
            plan.ships_goods = True
            plan.shipping_amount, plan.free_shipping_from = shipped.shipping_amount, shipped.free_shipping_from
            plan.max_skips_per_year = shipped.max_skips_per_year
            plan.save(update_fields=["ships_goods", "shipping_amount", "free_shipping_from", "max_skips_per_year"])
        version = plan.versions.get()
        if percent_off not in (None, ""):
            version.bundle_percent_off = parse_percent(percent_off)
            version.save(update_fields=["bundle_percent_off"])
        BundleComponent.objects.bulk_create([
            BundleComponent(plan_version=version, component=part, quantity=quantity, value=value, position=i)
            for i, ((part, quantity), value) in enumerate(zip(components, values))])
        record("plan.bundle_created", plan, at, {
            "code": plan.code, "amount": amount, "currency": plan.currency,
            "percent_off": str(version.bundle_percent_off) if version.bundle_percent_off is not None else None,
            "parts": [{"plan": part.code, "quantity": quantity, "value": value}
                      for (part, quantity), value in zip(components, values)],
            "saving": saving(values, amount)})
    return plan


def set_shipping(plan_code: str, *, ships_goods: bool, at: datetime, fee: int = 0, free_from: int | None = None,
                 max_skips_per_year: int = 2) -> Plan:
    """The owner's shipping terms of a plan: ships goods or not, the fee per delivery, the spend
    per period from which shipping is free (None: never free) and the skips allowed per year."""
    for value in (fee, free_from, max_skips_per_year):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise CatalogError(_("shipping amounts and the skips allowed are whole, non-negative numbers"))
    if max_skips_per_year > 52:
        raise CatalogError(_("at most 52 skipped deliveries a year"))
    with transaction.atomic():
        plan = Plan.objects.select_for_update().filter(code=plan_code).first()
        if plan is None:
            raise CatalogError(_("unknown plan %(code)s") % {"code": repr(plan_code)})
        if ships_goods and plan.kind == Plan.Kind.ADDON:
            # The address, the shipment list and skipping a delivery go with the plan.
            raise CatalogError(_("an add-on ships with its plan: set the shipping on the plan it is added to"))
        new = (ships_goods, fee, free_from, max_skips_per_year)
        if (plan.ships_goods, plan.shipping_amount, plan.free_shipping_from, plan.max_skips_per_year) == new:
            return plan
        plan.ships_goods, plan.shipping_amount, plan.free_shipping_from, plan.max_skips_per_year = new
        plan.save(update_fields=["ships_goods", "shipping_amount", "free_shipping_from", "max_skips_per_year"])
        record("plan.updated", plan, at, {"code": plan.code, "ships_goods": ships_goods, "shipping_amount": fee,
                                          "free_shipping_from": free_from, "max_skips_per_year": max_skips_per_year})
    return plan


def bundle_parts(version: PlanVersion) -> list[BundleComponent]:
    """A plan version's parts, in order (empty: not a bundle)."""
    return list(version.bundle_parts.select_related("component").order_by("position", "pk"))
