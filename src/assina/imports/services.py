"""Importing a business's history (issue 20): customers, subscriptions and engagement events from
CSV files, so the analytics, health scores and the churn model work from the first day.

Every import reads and checks the whole file first: any bad row (reported with its line) means
nothing is written; a good file is written in one transaction. Rows are found again by their
natural keys (a customer's e-mail; a subscription's customer, plan and start; an event's
customer, name, time, value and its occurrence among identical rows), so importing the same
file again changes nothing.

Imported history is marked (``imported_at``, ``imported``) and never billed or charged: an
imported subscription has no next action time (``subscriptions.store``), no invoice and no
payment method; its price is the amount the customer paid, kept on a version of the plan
(one that prices the row's quantity at exactly that amount, or a version numbered from
``catalog.models.IMPORTED_VERSIONS_FROM`` that is never the plan's current one). Its events
(``subscription.imported`` at the start, ``subscription.import_ended`` at the end) are read by
the analytics like a subscription's creation and end, and send no e-mail.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from hashlib import sha256

import numpy as np

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from assina.catalog.models import IMPORTED_VERSIONS_FROM, Plan, PlanVersion
from assina.core.errors import DomainError
from assina.core.money import normalize_currency, parse_amount
from assina.core.periods import boundary, validate_interval
from assina.core.pricing import PricingModel, price_amount
from assina.core.states import SubscriptionStatus
from assina.customers.models import Customer
from assina.customers.services import check_country, normalize_locale
from assina.db import insert_rows
from assina.engagement.ingest import EngagementError, record_event_columns, without_gc
from assina.engagement.wire import MAX_VALUE, NAME_PATTERN
from assina.events.models import Event
from assina.events.services import record
from assina.i18n import localized_message
from assina.subscriptions import store
from assina.subscriptions.models import Subscription, SubscriptionItem

from .models import ImportRun
from .reading import Problems, Table, bad_time, in_future, parse_time, parse_times

EVENT_FIELDS = ("type", "occurred_at", "customer_id", "subject_type", "subject_id", "data")
CHUNK = 5000  # ids per lookup query
MAX_QUANTITY = 1_000_000
UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


class ImportsError(DomainError):
    """An import refused (an unreadable file, bad rows); the message is in the user's language."""


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    created: int = 0
    unchanged: int = 0
    updated: int = 0
    errors: list[dict] = field(default_factory=list)
    error_count: int = 0

    def as_dict(self) -> dict:
        out = {"kind": self.kind, "rows": self.rows, "created": self.created, "unchanged": self.unchanged,
               "updated": self.updated}
        if self.error_count:
            out.update(errors=self.errors, error_count=self.error_count)
        return out


def _failed(kind: str, problems: Problems, rows: int = 0) -> ImportResult:
    return ImportResult(kind, rows=rows, errors=problems.sorted(), error_count=problems.count)


def _digest(data: str) -> str:
    return hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()


def _customers_by_email(emails) -> dict[str, Customer]:
    """The customers (not erased) with these lower-case e-mails, by lower-case e-mail."""
    emails = sorted(set(emails))
    found: dict[str, Customer] = {}
    for offset in range(0, len(emails), CHUNK):
        chunk = emails[offset:offset + CHUNK]
        for customer in (Customer.objects.annotate(lower_email=Lower("email"))
                         .filter(lower_email__in=chunk, erased_at__isnull=True)):
            found[customer.lower_email] = customer
    return found


def _ids_by_email(emails) -> dict[str, int]:
    emails = sorted(set(emails))
    found: dict[str, int] = {}
    for offset in range(0, len(emails), CHUNK):
        chunk = emails[offset:offset + CHUNK]
        found.update((Customer.objects.annotate(lower_email=Lower("email"))
                      .filter(lower_email__in=chunk, erased_at__isnull=True).values_list("lower_email", "pk")))
    return found


def _finish(kind: str, file_name: str, data: str, result: ImportResult, at: datetime) -> None:
    """Record the run (and its event) when it wrote something: in the caller's transaction."""
    if not (result.created or result.updated):
        return
    run = ImportRun.objects.create(kind=kind, file_name=file_name[:255], digest=_digest(data), rows=result.rows,
                                   created=result.created, unchanged=result.unchanged, updated=result.updated,
                                   created_at=at)
    record("import.completed", run, at, {"kind": kind, "file": run.file_name, "rows": result.rows,
                                         "created": result.created, "updated": result.updated})


def _check_time(problems: Problems, line: int, column: str, text: str, at: datetime) -> datetime | None:
    try:
        value = parse_time(text)
    except (ValueError, OverflowError, OSError):
        problems.add(line, bad_time(column, text))
        return None
    if value > at:
        problems.add(line, in_future(column, value))
        return None
    return value


# --- customers ----------------------------------------------------------------------------------

CUSTOMER_COLUMNS = ("email", "name", "created_at")
CUSTOMER_OPTIONAL = ("country", "locale", "currency", "external_id")


def import_customers(data: str, at: datetime, file_name: str = "") -> ImportResult:
    """``email,name,created_at`` (optional ``country,locale,currency,external_id``). A customer
    whose e-mail is already known is left as it is (an external id it lacks is added)."""
    problems = Problems()
    table = Table(data, CUSTOMER_COLUMNS, CUSTOMER_OPTIONAL, problems)
    if not table.ok:
        return _failed("customers", problems)
    default_locale = normalize_locale(settings.LANGUAGE_CODE)
    parsed = []
    first_line: dict[str, int] = {}
    for line, row in table.rows(problems):
        email = table.get(row, "email")
        try:
            validate_email(email)
        except ValidationError:
            problems.add(line, _("%(email)s is not a valid email address") % {"email": repr(email)})
            continue
        key = email.lower()
        if key in first_line:
            problems.add(line, _("e-mail %(email)s is also on line %(line)d") % {"email": email, "line": first_line[key]})
            continue
        first_line[key] = line
        name = table.get(row, "name")
        if len(name) > 200:
            problems.add(line, _("a name has at most %(count)d characters") % {"count": 200})
        created_at = _check_time(problems, line, "created_at", table.get(row, "created_at"), at)
        try:
            country = check_country(table.get(row, "country").upper())
            locale = normalize_locale(table.get(row, "locale")) if table.get(row, "locale") else default_locale
            currency = normalize_currency(table.get(row, "currency") or settings.ASSINA_DEFAULT_CURRENCY)
        except DomainError as exc:
            problems.add(line, localized_message(exc))
            continue
        external_id = table.get(row, "external_id")
        if len(external_id) > 128:
            problems.add(line, _("an external id has at most %(count)d characters") % {"count": 128})
        parsed.append((line, key, email, name, created_at, country, locale, currency, external_id))
    if problems:
        return _failed("customers", problems, len(parsed))
    result = ImportResult("customers", rows=len(parsed))
    with transaction.atomic():
        known = _customers_by_email(p[1] for p in parsed)
        new, add_external = [], []
        for line, key, email, name, created_at, country, locale, currency, external_id in parsed:
            customer = known.get(key)
            if customer is None:
                new.append(Customer(email=email, name=name, locale=locale, currency=currency, time_zone=settings.TIME_ZONE,
                                    country=country, external_id=external_id, imported_at=at, created_at=created_at))
            elif external_id and not customer.external_id:
                customer.external_id = external_id
                add_external.append(customer)
            else:
                result.unchanged += 1
        created = Customer.objects.bulk_create(new, batch_size=1000)
        if add_external:
            Customer.objects.bulk_update(add_external, ["external_id"], batch_size=1000)
            insert_rows(Event, EVENT_FIELDS, [("customer.updated", at, c.pk, "customer", c.pk, {"external_id": c.external_id})
                                              for c in add_external])
        insert_rows(Event, EVENT_FIELDS, [("customer.imported", c.created_at, c.pk, "customer", c.pk,
                                           {"email": c.email, "external_id": c.external_id, "imported_at": at.isoformat()})
                                          for c in created])
        result.created, result.updated = len(created), len(add_external)
        _finish("customers", file_name, data, result, at)
    return result


# --- subscriptions ------------------------------------------------------------------------------

SUBSCRIPTION_COLUMNS = ("customer_email", "plan_code", "amount", "currency", "interval", "started_at", "ended_at")
SUBSCRIPTION_OPTIONAL = ("interval_count", "quantity", "cancel_reason")
ACTIVE = SubscriptionStatus.ACTIVE.value
CANCELED = SubscriptionStatus.CANCELED.value


@dataclass
class _SubRow:
    line: int
    email: str
    plan: Plan
    amount: int
    quantity: int
    started_at: datetime
    ended_at: datetime | None
    reason: str


def _whole(text: str, default: int) -> int:
    if not text:
        return default
    value = int(text)
    if value < 1 or value > MAX_QUANTITY:
        raise ValueError(text)
    return value


def _period_containing(anchor: datetime, interval: str, count: int, moment: datetime) -> tuple[datetime, datetime]:
    """The billing period (from ``anchor``) that holds ``moment``: what the row's fields show."""
    unit = validate_interval(interval, count)
    tz = settings.TIME_ZONE
    days = {"day": 1, "week": 7, "month": 30.44, "year": 365.25}[unit.value] * count
    n = max(int((moment - anchor).total_seconds() / 86400 / days) - 1, 0)
    while boundary(anchor, unit, count, n + 1, tz) <= moment:
        n += 1
    while n > 0 and boundary(anchor, unit, count, n, tz) > moment:
        n -= 1
    return boundary(anchor, unit, count, n, tz), boundary(anchor, unit, count, n + 1, tz)


def _parse_subscription(table: Table, line: int, row: list[str], plans: dict[str, Plan], at: datetime,
                        problems: Problems) -> _SubRow | None:
    before = problems.count
    email = table.get(row, "customer_email").lower()
    code = table.get(row, "plan_code")
    plan = plans.get(code)
    currency = table.get(row, "currency").upper()
    if plan is None:
        problems.add(line, _("no plan with code %(code)s") % {"code": repr(code)})
    elif plan.kind != Plan.Kind.BASE:
        problems.add(line, _("%(code)s is an add-on, not a plan customers subscribe to") % {"code": code})
    elif currency != plan.currency:
        problems.add(line, _("plan %(code)s bills in %(plan_currency)s, the row says %(currency)s")
                     % {"code": code, "plan_currency": plan.currency, "currency": repr(currency)})
    amount = 0
    try:
        amount = parse_amount(table.get(row, "amount"), currency or "XXX")
    except DomainError as exc:
        problems.add(line, _("amount: %(error)s") % {"error": localized_message(exc)})
    interval = table.get(row, "interval").lower()
    try:
        count = _whole(table.get(row, "interval_count"), 1)
        quantity = _whole(table.get(row, "quantity"), 1)
    except ValueError:
        problems.add(line, _("interval_count and quantity are whole numbers from 1 to %(max)d") % {"max": MAX_QUANTITY})
        count = quantity = 1
    if plan is not None and (interval != plan.interval or count != plan.interval_count):
        problems.add(line, _("plan %(code)s bills every %(count)d %(interval)s, the row says every %(row_count)d %(row_interval)s")
                     % {"code": code, "count": plan.interval_count, "interval": plan.interval, "row_count": count,
                        "row_interval": repr(interval)})
    started_at = _check_time(problems, line, "started_at", table.get(row, "started_at"), at)
    ended_text = table.get(row, "ended_at")
    ended_at = _check_time(problems, line, "ended_at", ended_text, at) if ended_text else None
    if started_at and ended_at and ended_at <= started_at:
        problems.add(line, _("ended_at is not after started_at"))
    reason = table.get(row, "cancel_reason")
    if len(reason) > 200:
        problems.add(line, _("a cancellation reason has at most %(count)d characters") % {"count": 200})
    if reason and not ended_text:
        problems.add(line, _("a cancellation reason is given but ended_at is empty (the subscription is active)"))
    if problems.count > before:
        return None
    return _SubRow(line, email, plan, amount, quantity, started_at, ended_at, reason)


class _Versions:
    """The plan version an imported row is priced at: one of the plan's versions that prices its
    quantity at exactly the amount paid, else a version numbered from ``IMPORTED_VERSIONS_FROM``
    (per unit: amount × quantity), made once per (plan, amount)."""

    def __init__(self, plans: list[Plan]):
        self.by_plan: dict[int, list[PlanVersion]] = {}
        for version in PlanVersion.objects.filter(plan__in=plans).order_by("-version"):
            self.by_plan.setdefault(version.plan_id, []).append(version)
        self.made = 0

    def find(self, row: _SubRow) -> PlanVersion:
        versions = self.by_plan.setdefault(row.plan.pk, [])
        for version in versions:  # regular versions first (their numbers are lower: they come last)
            if version.version < IMPORTED_VERSIONS_FROM and version.currency == row.plan.currency \
                    and price_amount(version.price_spec(), row.quantity) == row.amount * row.quantity:
                return version
        for version in versions:
            if version.version >= IMPORTED_VERSIONS_FROM and version.unit_amount == row.amount:
                return version
        number = max([v.version for v in versions if v.version >= IMPORTED_VERSIONS_FROM] + [IMPORTED_VERSIONS_FROM - 1]) + 1
        # Created "when the price was in force": the start of the first row paying it (before
        # the plan's own versions, so a later switch to the plan takes the plan's price).
        version = PlanVersion.objects.create(plan=row.plan, version=number, pricing_model=PricingModel.PER_UNIT.value,
                                             currency=row.plan.currency, unit_amount=row.amount, created_at=row.started_at)
        versions.insert(0, version)
        self.made += 1
        return version


def import_subscriptions(data: str, at: datetime, file_name: str = "") -> ImportResult:
    """``customer_email,plan_code,amount,currency,interval,started_at,ended_at`` (``ended_at``
    empty while active; optional ``interval_count,quantity,cancel_reason``). ``amount`` is the
    price of one unit for one period in the currency's major units (29.90). A subscription
    already imported with the same customer, plan and start is unchanged; one imported active
    that the file now ends is ended."""
    problems = Problems()
    table = Table(data, SUBSCRIPTION_COLUMNS, SUBSCRIPTION_OPTIONAL, problems)
    if not table.ok:
        return _failed("subscriptions", problems)
    plans = {p.code: p for p in Plan.objects.all()}
    parsed: list[_SubRow] = []
    for line, row in table.rows(problems):
        sub_row = _parse_subscription(table, line, row, plans, at, problems)
        if sub_row is not None:
            parsed.append(sub_row)
    customers = _customers_by_email(r.email for r in parsed)
    seen: dict[tuple, int] = {}
    for r in parsed:
        customer = customers.get(r.email)
        if customer is None:
            problems.add(r.line, _("no customer with e-mail %(email)s (import the customers first)") % {"email": repr(r.email)})
            continue
        if customer.currency != r.plan.currency:
            problems.add(r.line, _("customer %(email)s pays in %(customer_currency)s, plan %(code)s bills in %(currency)s")
                         % {"email": r.email, "customer_currency": customer.currency, "code": r.plan.code,
                            "currency": r.plan.currency})
        key = (customer.pk, r.plan.pk, r.started_at)
        if key in seen:
            problems.add(r.line, _("the same subscription (customer, plan, started_at) is also on line %(line)d")
                         % {"line": seen[key]})
        seen.setdefault(key, r.line)
    if problems:
        return _failed("subscriptions", problems, len(parsed))
    result = ImportResult("subscriptions", rows=len(parsed))
    with transaction.atomic():
        existing = {}
        ids = sorted({c.pk for c in customers.values()})
        for offset in range(0, len(ids), CHUNK):
            for sub in Subscription.objects.filter(customer_id__in=ids[offset:offset + CHUNK], imported_at__isnull=False):
                existing[(sub.customer_id, sub.plan_id, sub.started_at)] = sub
        versions = _Versions(list({r.plan.pk: r.plan for r in parsed}.values()))
        new, items, ending = [], [], []
        for r in parsed:
            customer = customers[r.email]
            sub = existing.get((customer.pk, r.plan.pk, r.started_at))
            if sub is not None:
                if sub.ended_at == r.ended_at:
                    result.unchanged += 1
                elif sub.ended_at is None:
                    ending.append((sub, r))
                else:
                    problems.add(r.line, _("this subscription was imported with ended_at %(ended)s; the file says %(value)s")
                                 % {"ended": sub.ended_at.isoformat(), "value": r.ended_at.isoformat() if r.ended_at else "''"})
                continue
            period = _period_containing(r.started_at, r.plan.interval, r.plan.interval_count,
                                        (r.ended_at - timedelta(microseconds=1)) if r.ended_at else at)
            sub = Subscription(customer=customer, plan=r.plan, status=CANCELED if r.ended_at else ACTIVE,
                               currency=r.plan.currency, interval=r.plan.interval, interval_count=r.plan.interval_count,
                               billing_anchor=r.started_at, billing_starts_at=r.started_at, started_at=r.started_at,
                               current_period_start=period[0], current_period_end=period[1],
                               canceled_at=r.ended_at, ended_at=r.ended_at, cancel_reason=r.reason,
                               next_action_at=None,  # imported: never billed (subscriptions.store's rule)
                               imported_at=at, created_at=at)
            new.append(sub)
            items.append((r, versions.find(r)))
        if problems:  # a conflict with what was imported before: nothing is written
            transaction.set_rollback(True)
            return _failed("subscriptions", problems, len(parsed))
        created = Subscription.objects.bulk_create(new, batch_size=1000)
        SubscriptionItem.objects.bulk_create([SubscriptionItem(subscription=sub, plan_version=version, quantity=r.quantity)
                                              for sub, (r, version) in zip(created, items)], batch_size=1000)
        events = []
        for sub, (r, version) in zip(created, items):
            events.append(("subscription.imported", r.started_at, sub.customer_id, "subscription", sub.pk,
                           {"plan": r.plan.code, "quantity": r.quantity, "status": ACTIVE, "amount": r.amount,
                            "currency": sub.currency, "version": version.version}))
            if r.ended_at:
                events.append(("subscription.import_ended", r.ended_at, sub.customer_id, "subscription", sub.pk,
                               {"status": CANCELED, "reason": r.reason, "ended_at": r.ended_at.isoformat()}))
        for sub, r in ending:
            period = _period_containing(sub.billing_anchor, sub.interval, sub.interval_count, r.ended_at - timedelta(microseconds=1))
            sub.status, sub.ended_at, sub.canceled_at, sub.cancel_reason = CANCELED, r.ended_at, r.ended_at, r.reason
            sub.current_period_start, sub.current_period_end = period
            events.append(("subscription.import_ended", r.ended_at, sub.customer_id, "subscription", sub.pk,
                           {"status": CANCELED, "reason": r.reason, "ended_at": r.ended_at.isoformat()}))
        store.save_many([sub for sub, _r in ending], ["status", "ended_at", "canceled_at", "cancel_reason",
                                                      "current_period_start", "current_period_end"])
        insert_rows(Event, EVENT_FIELDS, events)
        result.created, result.updated = len(created), len(ending)
        _finish("subscriptions", file_name, data, result, at)
    return result


# --- engagement events --------------------------------------------------------------------------

EVENT_COLUMNS = ("customer_email", "name", "occurred_at")
EVENT_OPTIONAL = ("value",)
NAME = re.compile(NAME_PATTERN)


def imported_event_id(email: str, name: str, occurred_at: datetime, value: float | None, occurrence: int) -> str:
    """The id of an imported event: derived from the row (and its occurrence among identical
    rows of the file), so the same file imported again finds every event already there."""
    text = f"{email}|{name}|{occurred_at.isoformat()}|{value!r}|{occurrence}"
    # The time first: ids sorted by time are appended to the unique index, not scattered in it.
    return f"imp_{int(occurred_at.timestamp()):011d}_" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def import_events(data: str, at: datetime, file_name: str = "") -> ImportResult:
    """``customer_email,name,occurred_at`` (optional ``value``): what customers did in the
    business's product before Assina. Counted by health and the churn model like events sent
    through the API, marked imported.

    A file whose every row is good is checked and turned into events column by column
    (``_event_columns``); any other file is checked row by row, which names every bad row."""
    problems = Problems()
    table = Table(data, EVENT_COLUMNS, EVENT_OPTIONAL, problems)
    if not table.ok:
        return _failed("events", problems)
    with without_gc():
        columns = _event_columns(table, at)
        if columns is None:  # some row is bad, or the file's layout needs the rows one by one
            table = Table(data, EVENT_COLUMNS, EVENT_OPTIONAL, problems)
            columns = _event_columns_by_row(table, at, problems)
            if problems:
                return _failed("events", problems, len(columns.lines))
        result = ImportResult("events", rows=len(columns.lines))
        with transaction.atomic():
            try:
                stored = record_event_columns(columns.ids, columns.customers, columns.names, columns.micros,
                                              columns.values, imported=True, at=at)
            except EngagementError as exc:  # what the checks above let through (a customer erased meanwhile)
                for error in exc.errors:
                    problems.add(columns.lines[error["loc"][1]], error["message"])
                transaction.set_rollback(True)
                return _failed("events", problems, len(columns.lines))
            result.created, result.unchanged = stored.stored, stored.received - stored.stored
            _finish("events", file_name, data, result, at)
    return result


@dataclass
class _EventColumns:
    """The events of a file, sorted by id (time first: the indexes grow in order), column by
    column; ``lines[k]``: the file's line of event k."""

    ids: list[str]
    customers: list[int]
    names: list[str]
    micros: np.ndarray  # occurred_at, UTC microseconds since the epoch
    values: list[float | None]
    lines: list[int]


def _sorted_columns(emails: list[str], customers: list[int], names: list[str], micros: np.ndarray,
                    values: list[float | None], lines: list[int]) -> _EventColumns:
    """Each event's id (``imported_event_id``, computed for the whole column), all sorted by id."""
    count = len(lines)
    if count and int(np.abs(micros).max()) >= 2 ** 53:  # far from today: the exact float rounding of timestamp()
        stamps = [int((EPOCH + timedelta(microseconds=m)).timestamp()) for m in micros.tolist()]
    else:  # what int(datetime.timestamp()) gives: the float quotient, truncated
        stamps = np.trunc(micros / 1e6).astype(np.int64).tolist()
    whole = micros % 1_000_000 == 0
    stamp = micros.astype("datetime64[us]")
    iso = np.datetime_as_string(stamp, unit="s").tolist() if whole.all() else \
        np.where(whole, np.datetime_as_string(stamp, unit="s"), np.datetime_as_string(stamp, unit="us")).tolist()
    keys = [f"{e}|{n}|{t}+00:00|{v!r}" for e, n, t, v in zip(emails, names, iso, values)]
    if len(set(keys)) == count:
        texts = [key + "|1" for key in keys]
    else:  # identical rows: each one's occurrence among them
        seen: dict[str, int] = {}
        texts = []
        for key in keys:
            seen[key] = occurrence = seen.get(key, 0) + 1
            texts.append(f"{key}|{occurrence}")
    ids = [f"imp_{stamp:011d}_" + sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]
           for stamp, text in zip(stamps, texts)]
    order = sorted(range(count), key=ids.__getitem__)
    if order == list(range(count)):  # the file was in time order
        return _EventColumns(ids, customers, names, micros, values, lines)
    return _EventColumns([ids[k] for k in order], [customers[k] for k in order], [names[k] for k in order],
                         micros[np.array(order, dtype=np.int64)], [values[k] for k in order], [lines[k] for k in order])


def _event_columns(table: Table, at: datetime) -> _EventColumns | None:
    """The file's events checked column by column, each distinct e-mail, name, time and value
    once; None when some row is bad or the file has rows over several lines or blank lines (the
    row-by-row path then says which rows are bad, with their lines)."""
    reader = table.reader
    try:
        records = list(reader)
    except csv.Error:
        return None
    if reader.line_num != len(records) + 1 or (records and set(map(len, records)) != {table.width}):
        return None
    if not records:
        return _EventColumns([], [], [], np.zeros(0, dtype=np.int64), [], [])
    columns = list(zip(*records))
    del records
    count = len(columns[0])
    raw_emails, raw_names = columns[table.index["customer_email"]], columns[table.index["name"]]
    emails = {raw: raw.strip().lower() for raw in set(raw_emails)}
    names = {raw: raw.strip() for raw in set(raw_names)}
    if not all(NAME.match(name) for name in names.values()):
        return None
    micros = parse_times(list(columns[table.index["occurred_at"]]))
    if micros is None or int(micros.max()) > (at - EPOCH) // MICROSECOND:
        return None
    if table.index["value"] is None:
        value_column = [None] * count
    else:
        raw_values = columns[table.index["value"]]
        values: dict[str, float | None] = {}
        for raw in set(raw_values):
            if not raw.strip():
                values[raw] = None
                continue
            try:
                value = float(raw)
            except ValueError:
                return None
            # -0.0: its occurrence is counted with 0.0's (equal values) while its id has "-0.0": by row.
            if not math.isfinite(value) or abs(value) > MAX_VALUE or (value == 0 and math.copysign(1, value) < 0):
                return None
            values[raw] = value
        value_column = list(map(values.__getitem__, raw_values))
    ids = _ids_by_email(set(emails.values()))
    if len(ids) != len(set(emails.values())):
        return None
    email_column = list(map(emails.__getitem__, raw_emails))
    return _sorted_columns(email_column, list(map(ids.__getitem__, email_column)), list(map(names.__getitem__, raw_names)),
                           micros, value_column, list(range(2, count + 2)))


def _event_columns_by_row(table: Table, at: datetime, problems: Problems) -> _EventColumns:
    """The file's events checked row by row: every bad row is added to ``problems`` with its line."""
    i_email, i_name, i_time, i_value = (table.index[c] for c in ("customer_email", "name", "occurred_at", "value"))
    parsed = []
    times: dict[str, datetime] = {}
    append = parsed.append
    for line, row in table.rows(problems):
        email = row[i_email].strip().lower()
        name = row[i_name].strip()
        text = row[i_time]
        occurred = times.get(text)
        if occurred is None:
            occurred = _check_time(problems, line, "occurred_at", text, at)
            if occurred is None:
                continue
            if len(times) < 100_000:
                times[text] = occurred
        value = None
        if i_value is not None and row[i_value].strip():
            try:
                value = float(row[i_value])
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or abs(value) > MAX_VALUE:
                problems.add(line, _("value %(value)s is not a number") % {"value": repr(row[i_value])})
                continue
        if not NAME.match(name):
            problems.add(line, _("event name %(name)s is not 1 to 64 letters, digits or _.:/- (login, report_exported)")
                         % {"name": repr(name)})
            continue
        append((line, email, name, occurred, value))
    customers = _ids_by_email({p[1] for p in parsed})
    missing = {p[1] for p in parsed} - customers.keys()
    if missing:
        for line, email, *_rest in parsed:
            if email in missing:
                problems.add(line, _("no customer with e-mail %(email)s (import the customers first)") % {"email": repr(email)})
    if problems:
        return _EventColumns([], [], [], np.zeros(0, dtype=np.int64), [], [p[0] for p in parsed])
    occurrences: Counter = Counter()
    ids, micros = [], []
    for _line, email, name, occurred, value in parsed:
        key = (email, name, occurred, value)
        occurrences[key] += 1
        ids.append(imported_event_id(email, name, occurred, value, occurrences[key]))
        micros.append((occurred - EPOCH) // MICROSECOND)
    order = sorted(range(len(ids)), key=ids.__getitem__)  # by id (time first): the indexes grow in order
    return _EventColumns([ids[k] for k in order], [customers[parsed[k][1]] for k in order], [parsed[k][2] for k in order],
                         np.array([micros[k] for k in order], dtype=np.int64), [parsed[k][4] for k in order],
                         [parsed[k][0] for k in order])
