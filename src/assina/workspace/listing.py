"""The customer list: filters read from the page's query string as an unsaved ``Segment`` (so a
filter and a saved segment are the same thing, evaluated by ``notifications.segments``), a
sort, and one page of rows.

A page costs a count, the page's ids (the filtered, sorted query, cut to the page), one
statement for the rows (``queries.list_rows``) and the page's MRR by the dashboard's rule
(``notifications.segments.mrr_by_customer``: two short queries over its 50 customers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import F, Q
from django.utils.translation import gettext as _

from assina.core.money import parse_amount
from assina.core.states import SubscriptionStatus
from assina.customers.models import Customer
from assina.notifications.models import HEALTH_BANDS, NPS_CATEGORIES, Segment
from assina.notifications.segments import customers_of, mrr_by_customer

from . import queries

PER_PAGE = 50
SORTS = ("newest", "oldest", "risk", "health", "name")
# query-string name -> Segment field, for the plain ones
_TEXT_LISTS = {"plan": "plans", "status": "statuses", "country": "countries", "locale": "locales"}
_NUMBERS = {"risk_min": ("min_churn_risk", 100), "risk_max": ("max_churn_risk", 100),
            "tenure_min": ("min_tenure_days", 36500), "tenure_max": ("max_tenure_days", 36500)}
FILTER_KEYS = (*_TEXT_LISTS, "health", "nps", *_NUMBERS, "mrr_min", "mrr_max")


@dataclass
class Filters:
    segment: Segment
    errors: list[str] = field(default_factory=list)
    values: dict[str, list[str]] = field(default_factory=dict)  # what the form shows back

    @property
    def active(self) -> bool:
        return any(self.values.values())


def _words(params, key: str) -> list[str]:
    out = []
    for value in params.getlist(key):
        out.extend(w.strip() for w in value.replace(",", " ").split() if w.strip())
    return out[:50]


def filters_from(params) -> Filters:
    """The list's filters from a query string (a ``QueryDict``). Bad values are left out and
    reported in words; the rest still filter."""
    seg = Segment(name="")
    found = Filters(segment=seg)
    for key, attr in _TEXT_LISTS.items():
        words = _words(params, key)
        if key == "status":
            known = {s.value for s in SubscriptionStatus}
            bad = [w for w in words if w not in known]
            if bad:
                found.errors.append(_("unknown subscription status %(value)s") % {"value": ", ".join(bad)})
            words = [w for w in words if w in known]
        if key == "country":
            words = [w.upper()[:2] for w in words]
        setattr(seg, attr, words)
        found.values[key] = words
    for key, allowed, attr in (("health", HEALTH_BANDS, "health_bands"), ("nps", NPS_CATEGORIES, "nps_categories")):
        words = [w for w in params.getlist(key) if w in allowed]
        setattr(seg, attr, words)
        found.values[key] = words
    for key, (attr, top) in _NUMBERS.items():
        text = (params.get(key) or "").strip()
        found.values[key] = [text] if text else []
        if not text:
            continue
        if not text.isdigit() or int(text) > top:
            found.errors.append(_("%(what)s must be a whole number from 0 to %(top)s") % {"what": _label(key), "top": top})
            found.values[key] = []
            continue
        setattr(seg, attr, int(text))
    for key, attr in (("mrr_min", "min_mrr"), ("mrr_max", "max_mrr")):
        text = (params.get(key) or "").strip()
        found.values[key] = [text] if text else []
        if not text:
            continue
        try:
            setattr(seg, attr, parse_amount(text, settings.ASSINA_DEFAULT_CURRENCY))
        except ValueError:
            found.errors.append(_("%(what)s must be an amount such as 49.90") % {"what": _label(key)})
            found.values[key] = []
    return found


def _label(key: str) -> str:
    return {"risk_min": _("Churn risk from (%)"), "risk_max": _("Churn risk to (%)"),
            "tenure_min": _("Customer for at least (days)"), "tenure_max": _("Customer for at most (days)"),
            "mrr_min": _("MRR from"), "mrr_max": _("MRR to")}[key]


def query_of(segment: Segment) -> dict[str, list[str]]:
    """A saved segment as the list's query string (the inverse of ``filters_from``)."""
    from decimal import Decimal

    from assina.core.money import exponent

    def amount(value):
        return [str(Decimal(value).scaleb(-exponent(settings.ASSINA_DEFAULT_CURRENCY)))] if value is not None else []

    out = {key: list(getattr(segment, attr) or []) for key, attr in _TEXT_LISTS.items()}
    out["health"], out["nps"] = list(segment.health_bands or []), list(segment.nps_categories or [])
    for key, (attr, _top) in _NUMBERS.items():
        value = getattr(segment, attr)
        out[key] = [str(value)] if value is not None else []
    out["mrr_min"], out["mrr_max"] = amount(segment.min_mrr), amount(segment.max_mrr)
    return out


def customers(filters: Filters, at: datetime, *, search: str = "", sort: str = "newest"):
    """The filtered customers (erased ones left out), sorted."""
    query = customers_of(filters.segment, at).filter(erased_at__isnull=True)
    search = search.strip()[:100]
    if search:
        query = query.filter(Q(email__icontains=search) | Q(name__icontains=search))
    if sort == "risk":
        return query.order_by(F("health__churn_probability").desc(nulls_last=True), "-pk")
    if sort == "health":
        return query.order_by(F("health__score").asc(nulls_last=True), "-pk")
    if sort == "name":
        return query.order_by("name", "email", "pk")
    return query.order_by("pk" if sort == "oldest" else "-pk")


@dataclass
class Page:
    rows: list[dict]
    count: int
    number: int
    pages: int


def page(filters: Filters, at: datetime, *, search: str = "", sort: str = "newest", number: int = 1,
         per_page: int = PER_PAGE) -> Page:
    query = customers(filters, at, search=search, sort=sort if sort in SORTS else "newest")
    count = query.count()
    pages = max(1, -(-count // per_page))
    number = min(max(1, number), pages)
    ids = list(query.values_list("pk", flat=True)[(number - 1) * per_page:number * per_page])
    found = queries.list_rows(ids)
    mrr = mrr_by_customer(Customer.objects.filter(pk__in=ids), at) if ids else {}
    rows = []
    for pk in ids:
        (_id, name, email, country, locale, currency, created_at, sub_id, status, plan_code, plan_name,
         score, band, churn, nps) = found[pk]
        rows.append({"id": pk, "name": name, "email": email, "country": country, "locale": locale, "currency": currency,
                     "created_at": created_at, "tenure_days": max(0, (at - created_at).days), "subscription_id": sub_id,
                     "status": status, "plan_code": plan_code, "plan_name": plan_name, "score": score, "band": band,
                     "churn": churn, "nps": nps, "mrr": mrr.get(pk, 0)})
    return Page(rows=rows, count=count, number=number, pages=pages)
