"""Build the MRR change table (and the facts beside it) from the billing data, read-only.

A subscription's history is its events (created, status changes, plan and quantity changes,
canceled) plus its discount window; its prices are its plan versions. The table is built
with pandas/NumPy over all rows at once: Python loops only run over *distinct* prices, plans
and coupons (a handful), never over subscriptions or events.

Which price version applied when: a subscription keeps its version while it stays on a plan
and takes the plan's newest version (at that moment) when it moves to another plan, exactly as
``assina.subscriptions.changes`` does; the last stretch on a plan uses the version its item
holds now, so the table always ends at the subscription's real current price.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
from django.conf import settings
from django.db.models.fields.json import KT

from assina.catalog.models import Coupon, Plan, PlanVersion
from assina.core.money import exponent
from assina.core.mrr import mrr
from assina.core.pricing import price_amount
from assina.customers.models import Customer
from assina.events.models import Event
from assina.invoices.models import Invoice
from assina.payments.models import PaymentAttempt
from assina.subscriptions.models import Subscription, SubscriptionItem

from .engine.report import Dataset
from .engine.table import ChangeTable, Customers, DunningFacts, SubscriptionFacts
from .models import ExchangeRate

# Imported history (assina import subscriptions) starts and ends with its own events, which send
# no e-mail: read like a creation and an end.
STATUS_EVENTS = ("subscription.created", "subscription.updated", "subscription.canceled",
                 "subscription.imported", "subscription.import_ended")
ENDED_EVENTS = ("subscription.canceled", "subscription.import_ended")
NO_TIME = -1


def wall_seconds(values, tz: str | None = None) -> np.ndarray:
    """Aware datetimes (or a datetime64 UTC column) -> seconds on the business's wall clock."""
    series = pd.to_datetime(pd.Series(values), utc=True)
    local = series.dt.tz_convert(tz or settings.TIME_ZONE).dt.tz_localize(None)
    out = local.to_numpy(dtype="datetime64[s]", na_value=np.datetime64("NaT")).astype(np.int64)
    out[local.isna().to_numpy()] = NO_TIME
    return out


def wall_of(at: datetime) -> int:
    return int(wall_seconds([at])[0])


def half_up_div(numerator: np.ndarray, denominator) -> np.ndarray:
    """round_half_up(numerator / denominator) for non-negative integers, in integers."""
    return (2 * numerator + denominator) // (2 * denominator)


class Rates:
    """The operator's exchange rates, converting minor units of a currency into the reporting one."""

    def __init__(self) -> None:
        self.reporting = settings.ASSINA_REPORTING_CURRENCY
        self._by_currency: dict[str, tuple[np.ndarray, list[Decimal]]] = {}
        rows = ExchangeRate.objects.order_by("currency", "valid_from").values_list("currency", "valid_from", "rate")
        grouped: dict[str, list[tuple[date, Decimal]]] = {}
        for currency, valid_from, rate in rows:
            grouped.setdefault(currency, []).append((valid_from, rate))
        for currency, pairs in grouped.items():
            days = np.array([(d - date(1970, 1, 1)).days for d, _ in pairs], dtype=np.int64)
            self._by_currency[currency] = (days, [r for _, r in pairs])

    def has(self, currency: str) -> bool:
        return currency == self.reporting or currency in self._by_currency

    def convert(self, amounts: np.ndarray, currency: str, seconds: np.ndarray) -> np.ndarray:
        """Each amount at the rate in force on its day (the earliest rate before the first one)."""
        amounts = np.asarray(amounts, dtype=np.int64)
        if currency == self.reporting:
            return amounts.copy()
        days, rates = self._by_currency[currency]
        which = np.clip(np.searchsorted(days, np.asarray(seconds) // 86_400, side="right") - 1, 0, len(rates) - 1)
        out = np.zeros(len(amounts), dtype=np.int64)
        shift = exponent(self.reporting) - exponent(currency)
        for i, rate in enumerate(rates):  # one pass per rate the operator entered
            hit = which == i
            if not hit.any():
                continue
            sign, digits, exp = rate.as_tuple()
            numerator = int("".join(map(str, digits)))
            denominator = 1
            exp += shift
            if exp >= 0:
                numerator *= 10 ** exp
            else:
                denominator = 10 ** (-exp)
            out[hit] = half_up_div(amounts[hit] * numerator, denominator)
        return out


def _codes(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    labels = sorted({v for v in values.fillna("").astype(str)})
    index = {label: i for i, label in enumerate(labels)}
    return values.fillna("").astype(str).map(index).to_numpy(np.int32), labels


def _events() -> pd.DataFrame:
    # KT: the plan code as text. A key lookup decodes the value as JSON on SQLite, so a plan
    # coded "0", "true" or "NaN" would come back as a number, a boolean or a float NaN.
    rows = (Event.objects.filter(subject_type="subscription", type__in=STATUS_EVENTS)
            .values_list("subject_id", "occurred_at", "id", "type", "data__status", KT("data__plan"), "data__quantity"))
    ev = pd.DataFrame(list(rows), columns=["sub", "at", "order", "type", "status", "plan", "quantity"])
    ev.loc[ev["type"].isin(ENDED_EVENTS), "status"] = "canceled"
    return ev.drop(columns="type")


def build_dataset() -> Dataset:
    rates = Rates()
    plans = pd.DataFrame(list(Plan.objects.values_list("id", "code", "kind", "interval", "interval_count")),
                         columns=["plan_id", "code", "kind", "interval", "interval_count"])
    base_codes = sorted(plans.loc[plans["kind"] == "base", "code"])
    plan_index = {code: i for i, code in enumerate(base_codes)}
    plan_by_code = plans.set_index("code")
    versions = list(PlanVersion.objects.order_by("plan_id", "created_at", "version"))
    subs = pd.DataFrame(list(Subscription.objects.values_list(
        "id", "customer_id", "currency", "started_at", "trial_end", "ended_at", "cancel_reason", "coupon_id",
        "discount_applies_from", "discount_applies_until")),
        columns=["sub", "customer", "currency", "started_at", "trial_end", "ended_at", "reason", "coupon",
                 "discount_from", "discount_until"])
    items = pd.DataFrame(list(SubscriptionItem.objects.values_list(
        "subscription_id", "plan_version_id", "quantity", "plan_version__plan__kind", "plan_version__plan__code")),
        columns=["sub", "version", "quantity", "kind", "code"])
    currencies = sorted(set(subs["currency"]) | {rates.reporting})
    table = _change_table(subs, items, _events(), versions, plan_by_code, plan_index, rates, currencies)
    table.plans = base_codes
    facts = _facts(subs, table, plan_index)
    return Dataset(table=table, customers=_customers(currencies), facts=facts, dunning=_dunning(rates))


def _price_map(pairs: pd.DataFrame, specs: dict[int, object]) -> pd.Series:
    """price_amount of each row's (version, quantity): computed once per distinct pair, then joined."""
    distinct = pairs.drop_duplicates()
    priced = distinct.assign(price=[price_amount(specs[int(v)], int(q)) for v, q in zip(distinct["version"], distinct["quantity"])])
    joined = pairs.merge(priced, on=["version", "quantity"], how="left")["price"]
    return joined.set_axis(pairs.index).astype(np.int64)


def _change_table(subs, items, ev, versions, plan_by_code, plan_index, rates, currencies) -> ChangeTable:
    specs = {v.pk: v.price_spec() for v in versions}
    if not len(subs):
        empty = np.zeros(0, dtype=np.int64)
        return ChangeTable(empty, empty, empty, empty, empty, empty.astype(np.int32), empty.astype(np.int16),
                           empty.astype(np.int8), [], currencies, rates.reporting, [])
    # Discount windows are changes too: the discount starts (contraction) and ends (expansion).
    with_coupon = subs[subs["coupon"].notna() & subs["discount_from"].notna()]
    marks = [pd.DataFrame({"sub": with_coupon["sub"], "at": with_coupon["discount_from"]})]
    ending = with_coupon[with_coupon["discount_until"].notna()]
    marks.append(pd.DataFrame({"sub": ending["sub"], "at": ending["discount_until"]}))
    synthetic = pd.concat(marks, ignore_index=True)
    synthetic["order"] = np.iinfo(np.int64).max
    rows = pd.concat([ev, synthetic], ignore_index=True)
    rows["at"] = pd.to_datetime(rows["at"], utc=True)
    rows = rows.sort_values(["sub", "at", "order"], kind="stable").reset_index(drop=True)
    sub_info = subs.set_index("sub")
    ended = pd.to_datetime(rows["sub"].map(sub_info["ended_at"]), utc=True)
    rows = rows[ended.isna() | (rows["at"] <= ended)].reset_index(drop=True)
    rows[["status", "plan", "quantity"]] = rows.groupby("sub")[["status", "plan", "quantity"]].ffill()
    rows = rows[rows["plan"].notna()].reset_index(drop=True)  # nothing before "created"
    rows["quantity"] = rows["quantity"].astype(np.int64)
    sub_arr = rows["sub"].to_numpy(np.int64)
    first = np.r_[True, sub_arr[1:] != sub_arr[:-1]]
    plan_code = rows["plan"].to_numpy(object)
    switched = first | np.r_[True, plan_code[1:] != plan_code[:-1]]
    run = np.cumsum(switched)
    last_run = pd.Series(run).groupby(sub_arr).transform("max").to_numpy()
    # The version a plan switch takes: the plan's newest at that moment.
    version = np.zeros(len(rows), dtype=np.int64)
    at_ns = rows["at"].to_numpy("datetime64[ns]").astype(np.int64)
    by_plan: dict[int, list] = {}
    for v in versions:
        by_plan.setdefault(v.plan_id, []).append(v)
    plan_ids = rows["plan"].map(plan_by_code["plan_id"]).to_numpy(np.int64)
    for plan_id, plan_versions in by_plan.items():
        hit = switched & (plan_ids == plan_id)
        if not hit.any():
            continue
        created = np.array([pd.Timestamp(v.created_at).value for v in plan_versions], dtype=np.int64)
        which = np.clip(np.searchsorted(created, at_ns[hit], side="right") - 1, 0, len(plan_versions) - 1)
        version[hit] = np.array([v.pk for v in plan_versions], dtype=np.int64)[which]
    base_items = items[items["kind"] == "base"].set_index("sub")
    current = rows["sub"].map(base_items["version"]).to_numpy()
    final = (run == last_run) & (rows["plan"].to_numpy(object) == rows["sub"].map(base_items["code"]).to_numpy(object))
    version = np.where(final, np.nan_to_num(current.astype(np.float64), nan=0).astype(np.int64), version)
    version = pd.Series(np.where(switched | final, version, np.nan)).groupby(sub_arr).ffill().to_numpy(np.int64)
    rows["version"] = version
    base = _price_map(rows[["version", "quantity"]], specs).to_numpy(np.int64)
    # Add-ons never change after the subscription starts: one constant per subscription.
    addons = items[items["kind"] == "addon"].copy()
    addons["price"] = _price_map(addons[["version", "quantity"]], specs).to_numpy(np.int64) if len(addons) else 0
    coupons = {c.pk: c for c in Coupon.objects.filter(pk__in=subs["coupon"].dropna().astype(int).tolist()).prefetch_related("plans")}
    core = {pk: c.to_core() for pk, c in coupons.items()}
    sub_coupon = subs.set_index("sub")["coupon"]
    if len(addons):
        allowed = _applies(addons["sub"].map(sub_coupon), addons["code"], core)
        addons["discountable"] = np.where(allowed, addons["price"], 0)
        per_sub = addons.groupby("sub")[["price", "discountable"]].sum()
    else:
        per_sub = pd.DataFrame(columns=["price", "discountable"], dtype=np.int64)
    addon_total = rows["sub"].map(per_sub["price"]).fillna(0).to_numpy(np.int64)
    addon_discountable = rows["sub"].map(per_sub["discountable"]).fillna(0).to_numpy(np.int64)
    coupon = rows["sub"].map(sub_coupon)
    applies_base = _applies(coupon, rows["plan"], core)
    discountable = np.where(applies_base, base, 0) + addon_discountable
    info = rows["sub"].map
    currency = info(sub_info["currency"]).to_numpy(object)
    d_from = pd.to_datetime(info(sub_info["discount_from"]), utc=True)
    d_until = pd.to_datetime(info(sub_info["discount_until"]), utc=True)
    # The coupon's discount is in force on [from, until) (core.mrr.discount_in_force, per row).
    active = coupon.notna().to_numpy() & (rows["at"] >= d_from).to_numpy() & (d_until.isna() | (rows["at"] < d_until)).to_numpy()
    interval = rows["plan"].map(plan_by_code["interval"]).to_numpy(object)
    count = rows["plan"].map(plan_by_code["interval_count"]).to_numpy(np.int64)
    native = _mrr_levels(rows["status"].fillna("").to_numpy(object), base + addon_total,
                         np.where(active, discountable, 0),
                         np.where(active, coupon.fillna(-1).astype(np.int64).to_numpy(), -1), currency, interval, count, core)
    seconds = wall_seconds(rows["at"])
    converted = np.zeros(len(rows), dtype=np.int64)
    currency_index = {c: i for i, c in enumerate(currencies)}
    unconverted = []
    for code in sorted(set(currency)):
        hit = currency == code
        if rates.has(code):
            converted[hit] = rates.convert(native[hit], code, seconds[hit])
        else:
            unconverted.append(code)
    kind = np.where((interval == "month") & (count == 1), 0, np.where(interval == "year", 1, 2)).astype(np.int8)
    return ChangeTable(
        sub=sub_arr, customer=rows["sub"].map(sub_info["customer"]).to_numpy(np.int64), at=seconds, mrr=converted,
        native=native, plan=rows["plan"].map(plan_index).fillna(-1).to_numpy(np.int32),
        currency=pd.Series(currency).map(currency_index).to_numpy(np.int16), interval=kind,
        currencies=currencies, reporting_currency=rates.reporting, unconverted=unconverted)


def _mrr_levels(status, total, discountable, coupon, currency, interval, count, coupons: dict) -> np.ndarray:
    """Each row's MRR by ``core.mrr.mrr`` (the rule segments and reminders use too), computed
    once per distinct (status, total, discountable, coupon in force, currency, interval) and
    joined back: a handful of prices, plans and coupons, never one call per row."""
    keys = pd.DataFrame({"status": status, "total": total, "discountable": discountable, "coupon": coupon,
                         "currency": currency, "interval": interval, "count": count})
    distinct = keys.drop_duplicates()
    levels = [mrr(s, int(t), int(d), cur, i, int(n), coupons[int(c)] if c >= 0 else None)
              for s, t, d, c, cur, i, n in distinct.itertuples(index=False)]
    return keys.merge(distinct.assign(level=levels), on=list(keys.columns), how="left")["level"].to_numpy(np.int64)


def _applies(coupon: pd.Series, codes: pd.Series, core: dict) -> np.ndarray:
    """Whether each row's coupon applies to the item ``codes`` (no coupon: False)."""
    restricted = {pk: c.applies_to_plans for pk, c in core.items()}
    has = coupon.notna().to_numpy()
    out = np.zeros(len(coupon), dtype=bool)
    if not has.any():
        return out
    ids = coupon[has].astype(int).to_numpy()
    open_ids = np.array([pk for pk, plans in restricted.items() if plans is None], dtype=np.int64)
    pairs = {(pk, code) for pk, plans in restricted.items() if plans for code in plans}
    hit = np.isin(ids, open_ids)
    if pairs:
        keyed = pd.Series(list(zip(ids, codes[has].to_numpy(object))))
        hit |= keyed.isin(pairs).to_numpy()
    out[has] = hit
    return out


def _facts(subs: pd.DataFrame, table: ChangeTable, plan_index: dict) -> SubscriptionFacts:
    frame = pd.DataFrame({"sub": table.sub, "at": table.at, "mrr": table.mrr, "native": table.native, "plan": table.plan})
    first_plan = frame.groupby("sub")["plan"].first()
    paid = frame[frame["native"] > 0].groupby("sub")["at"].min()
    ended = wall_seconds(subs["ended_at"])
    ended_by_sub = pd.Series(ended, index=subs["sub"].to_numpy())
    before_end = frame[frame["at"] < frame["sub"].map(ended_by_sub).to_numpy()]
    # The same moment can hold the status change and the cancellation: take the last level
    # strictly before the end.
    lost = before_end.groupby("sub")[["mrr", "native"]].last()
    reason_codes, reasons = _codes(subs["reason"].where(subs["reason"] != "", "unspecified"))
    sub_ids = subs["sub"]
    return SubscriptionFacts(
        sub=sub_ids.to_numpy(np.int64), customer=subs["customer"].to_numpy(np.int64),
        plan=sub_ids.map(first_plan).fillna(-1).to_numpy(np.int32), started_at=wall_seconds(subs["started_at"]),
        trial_end=wall_seconds(subs["trial_end"]), converted_at=sub_ids.map(paid).fillna(NO_TIME).to_numpy(np.int64),
        ended_at=ended, reason=reason_codes,
        lost_mrr=np.where(ended >= 0, sub_ids.map(lost["mrr"]).fillna(0).to_numpy(np.int64), 0),
        lost_native=np.where(ended >= 0, sub_ids.map(lost["native"]).fillna(0).to_numpy(np.int64), 0),
        reasons=reasons)


def _customers(currencies: list[str]) -> Customers:
    frame = pd.DataFrame(list(Customer.objects.values_list("id", "country", KT("metadata__segment"), "currency")),
                         columns=["id", "country", "segment", "currency"])
    country, countries = _codes(frame["country"])
    segment, segments = _codes(frame["segment"])
    index = {c: i for i, c in enumerate(currencies)}
    return Customers(id=frame["id"].to_numpy(np.int64), country=country, segment=segment,
                     currency=frame["currency"].map(index).fillna(-1).to_numpy(np.int16),
                     countries=countries, segments=segments)


def _dunning(rates: Rates) -> DunningFacts:
    failures = pd.DataFrame(list(PaymentAttempt.objects.filter(status=PaymentAttempt.Status.FAILED)
                                 .values_list("invoice_id", "completed_at", "created_at")),
                            columns=["invoice", "completed_at", "created_at"])
    if not len(failures):
        empty = np.zeros(0, dtype=np.int64)
        return DunningFacts(empty, empty, np.zeros(0, dtype=bool), empty, empty, empty)
    failures["at"] = pd.to_datetime(failures["completed_at"].fillna(failures["created_at"]), utc=True)
    first = failures.groupby("invoice")["at"].min()
    invoices = pd.DataFrame(list(Invoice.objects.filter(pk__in=first.index.tolist()).values_list(
        "id", "customer_id", "status", "paid_at", "total", "currency")),
        columns=["invoice", "customer", "status", "paid_at", "total", "currency"]).set_index("invoice")
    invoices["first"] = first
    paid_at = pd.to_datetime(invoices["paid_at"], utc=True)
    recovered = (invoices["status"] == "paid") & paid_at.notna() & (paid_at >= invoices["first"])
    seconds = wall_seconds(invoices["first"])
    native = invoices["total"].to_numpy(np.int64)
    amount = np.zeros(len(invoices), dtype=np.int64)
    currency = invoices["currency"].to_numpy(object)
    for code in set(currency):
        hit = currency == code
        if rates.has(code):
            amount[hit] = rates.convert(native[hit], code, seconds[hit])
    recovered_at = np.where(recovered.to_numpy(), wall_seconds(paid_at), NO_TIME)
    return DunningFacts(first_failure_at=seconds, recovered_at=recovered_at,
                        closed_unpaid=invoices["status"].isin(["void", "uncollectible"]).to_numpy(),
                        amount=amount, native=native, customer=invoices["customer"].to_numpy(np.int64))
