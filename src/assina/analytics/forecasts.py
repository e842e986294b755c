"""Lifetime value forecasts of the business's own subscriptions, for the dashboard, the API and
the customer's admin page: kept like the dashboard's other figures.

The forecast is computed from the dashboard's snapshot of the data (``service.snapshot``: rebuilt
when the data's fingerprint changes) and kept until the fingerprint, the set of dated facts
before the as-of moment, the discount rate or the margin change: the models are refitted only
when the data they read has changed.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

import numpy as np
from django.utils.translation import gettext as _

from assina.i18n import localized_message

from .engine.survival import TOO_SHORT, forecast
from .service import MetricsError, _iso, build_query, snapshot

DEFAULT_DISCOUNT = 0.10  # a year
KEPT = 16
TOP_CUSTOMERS = 100

_lock = threading.Lock()
_kept: OrderedDict = OrderedDict()


def _rate(value, what: str, default: float) -> float:
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and 0 <= number <= 1):
        raise MetricsError(_("%(what)s must be a number from 0 to 1, not %(value)s") % {"what": what, "value": repr(str(value)[:40])})
    return number


def _computed(as_of: str | None, discount: float, margin: float) -> tuple[dict, int]:
    query = build_query(as_of=as_of)
    snap = snapshot()
    due = int(np.searchsorted(snap.times, query.as_of, side="right"))
    # The snapshot itself is part of the key (a new one is built whenever the data changed, or
    # after service.forget()); it is kept with the answer so its id cannot be reused meanwhile.
    key = (id(snap), snap.fingerprint, due, discount, margin)
    with _lock:
        kept = _kept.get(key)
        if kept is not None and kept[0] is snap:
            _kept.move_to_end(key)
            return kept[1], query.as_of
    result = forecast(snap.data.table, query.as_of, annual_discount=discount, margin=margin)
    result["currency"] = snap.data.table.reporting_currency
    with _lock:
        _kept[key] = (snap, result)
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return result, query.as_of


def forget() -> None:
    with _lock:
        _kept.clear()


def _finite(value, digits: int = 2):
    value = float(value)
    return round(value, digits) if math.isfinite(value) else None


def clv(*, as_of: str | None = None, discount_rate=None, margin=None, customer: int | None = None,
        limit: int = TOP_CUSTOMERS) -> dict:
    """The forecast as plain data: models per billing interval, CLV per plan and per cohort, and the
    customers worth the most (or the one asked for)."""
    discount = _rate(discount_rate, "discount_rate", DEFAULT_DISCOUNT)
    if discount == 0:
        # Undiscounted, the expected lifetime of a base with a long tail of loyal customers can be unbounded.
        raise MetricsError(_("discount_rate must be more than 0: without a discount the value of customers who may "
                             "never leave is unbounded"))
    share = _rate(margin, "margin", 1.0)
    result, at = _computed(as_of, discount, share)
    people = result["customers"]
    order = np.argsort(-people["clv"], kind="stable")
    if customer is not None:
        order = np.flatnonzero(people["customer"] == customer)
    else:
        order = order[:limit]
    groups = [{**g, "error": _error(g["error"])} for g in result["groups"]]
    return {
        "as_of": _iso(at), "currency": result["currency"], "discount_rate": discount, "margin": share,
        "groups": groups, "plans": result["plans"], "cohorts": result["cohorts"],
        "customers_valued": int(len(people["customer"])),
        "clv_total": int(round(float(people["clv"].sum()))),
        "customers": [{"customer_id": int(people["customer"][i]), "clv": int(round(float(people["clv"][i]))),
                       "half_life_months": _finite(people["half_life_months"][i], 0),
                       "expected_months": _finite(people["expected_months"][i], 1)} for i in order],
    }


def _error(error) -> str | None:
    if error is None:
        return None
    if error == TOO_SHORT:
        return _("not enough history yet: no subscription has been through two renewals")
    return localized_message(error)


def customer_value(customer_id: int) -> dict | None:
    """One customer's CLV and remaining lifetime (None when they pay nothing now or no model fits)."""
    rows = clv(customer=customer_id)["customers"]
    return rows[0] if rows else None


