"""The workspace's hand-written SQL, each statement beside its ORM twin
(``tests/integration/test_queries.py`` runs both and compares them).

``list_rows``: what a page of the customer list shows for each of its customers, in one
statement: the customer, their current subscription (one not ended first, the latest started),
its plan, their health score, band and churn probability, and the score of their latest NPS
answer. The ORM builds the same answer with three queries and two correlated subqueries, and
costs more to build than the statement costs to run.
"""

from __future__ import annotations

import functools

from django.db import connection
from django.db.models import Case, IntegerField, OuterRef, Subquery, Value, When

from assina.catalog.models import Plan
from assina.customers.models import Customer
from assina.db import aware_datetime, select_rows, sql_columns, sql_in_list, sql_table, sql_time
from assina.feedback.models import Survey, SurveyResponse
from assina.subscriptions.models import Subscription
from assina.success.models import HealthScore

# (customer id, name, email, country, locale, currency, created_at, subscription id, status, plan code,
#  plan name, health score, band, churn probability, latest NPS score)
ListRow = tuple


@functools.cache
def _list_rows_sql(vendor: str) -> str:
    c, s, p, h, r = (sql_columns(m) for m in (Customer, Subscription, Plan, HealthScore, SurveyResponse))
    customers, subs, plans = sql_table(Customer), sql_table(Subscription), sql_table(Plan)
    health, responses = sql_table(HealthScore), sql_table(SurveyResponse)
    ids, _params = sql_in_list(f"cu.{c['id']}", [], vendor)
    return (
        f"SELECT cu.{c['id']}, cu.{c['name']}, cu.{c['email']}, cu.{c['country']}, cu.{c['locale']}, cu.{c['currency']}, cu.{c['created_at']}, "
        f"su.{s['id']}, su.{s['status']}, pl.{p['code']}, pl.{p['name']}, "
        f"he.{h['score']}, he.{h['band']}, he.{h['churn_probability']}, "
        f"(SELECT re.{r['score']} FROM {responses} re WHERE re.{r['customer']} = cu.{c['id']} AND re.{r['survey']} = %s "
        f"AND re.{r['score']} IS NOT NULL ORDER BY re.{r['submitted_at']} DESC, re.{r['id']} DESC LIMIT 1) "
        f"FROM {customers} cu "
        f"LEFT JOIN {subs} su ON su.{s['id']} = (SELECT s2.{s['id']} FROM {subs} s2 WHERE s2.{s['customer']} = cu.{c['id']} "
        f"ORDER BY CASE WHEN s2.{s['ended_at']} IS NULL THEN 0 ELSE 1 END, s2.{s['started_at']} DESC, s2.{s['id']} DESC LIMIT 1) "
        f"LEFT JOIN {plans} pl ON pl.{p['id']} = su.{s['plan']} "
        f"LEFT JOIN {health} he ON he.{h['customer']} = cu.{c['id']} "
        f"WHERE {ids}")


def list_rows(customer_ids: list[int]) -> dict[int, ListRow]:
    """Each customer's row for the list, by id (ids not found are absent)."""
    if not customer_ids:
        return {}
    _sql, ids = sql_in_list("x", list(customer_ids))
    rows = select_rows(_list_rows_sql(connection.vendor), [Survey.NPS.value, *ids])
    return {row[0]: (*row[:6], aware_datetime(row[6]), *row[7:13],
                     None if row[13] is None else float(row[13]), row[14]) for row in rows}


def list_rows_orm(customer_ids: list[int]) -> dict[int, ListRow]:
    latest_nps = Subquery(SurveyResponse.objects.filter(customer=OuterRef("pk"), survey=Survey.NPS, score__isnull=False)
                          .order_by("-submitted_at", "-id").values("score")[:1])
    current = Subquery(Subscription.objects.filter(customer=OuterRef("pk"))
                       .annotate(ended=Case(When(ended_at__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()))
                       .order_by("ended", "-started_at", "-id").values("pk")[:1])
    customers = list(Customer.objects.filter(pk__in=customer_ids).annotate(current=current, nps=latest_nps)
                     .values_list("pk", "name", "email", "country", "locale", "currency", "created_at", "current", "nps"))
    subs = {s.pk: s for s in Subscription.objects.filter(pk__in=[c[7] for c in customers if c[7]]).select_related("plan")}
    health = {h.customer_id: h for h in HealthScore.objects.filter(customer_id__in=customer_ids)}
    out = {}
    for pk, name, email, country, locale, currency, created_at, current_id, nps in customers:
        sub, score = subs.get(current_id), health.get(pk)
        out[pk] = (pk, name, email, country, locale, currency, created_at,
                   sub.pk if sub else None, sub.status if sub else None, sub.plan.code if sub else None,
                   sub.plan.name if sub else None, score.score if score else None, score.band if score else None,
                   score.churn_probability if score else None, nps)
    return out


# --- the timeline's page: which rows, from which sources ------------------------------------------

# rank -> (model, time field); the rank orders rows of the same moment (``timeline.Item.key``).
def _timeline_sources() -> dict[int, tuple]:
    from assina.engagement.models import CustomerNote, EngagementEvent, Task
    from assina.events.models import Event
    from assina.notifications.models import Message
    from assina.retention.models import CancelSession

    return {0: (Event, "occurred_at"), 1: (Message, "due_at"), 2: (SurveyResponse, "submitted_at"),
            3: (EngagementEvent, "occurred_at"), 4: (CustomerNote, "occurred_at"), 5: (Task, "created_at"),
            6: (CancelSession, "started_at")}


def _customer_column(model) -> str:
    columns = sql_columns(model)
    return columns["customer_id"] if "customer_id" in columns else columns["customer"]


@functools.cache
def _timeline_sql(vendor: str, ranks: tuple[int, ...], prefixes: int, exclude: bool, cursor: tuple | None) -> str:
    sources = _timeline_sources()
    branches = []
    for rank in ranks:
        model, field = sources[rank]
        c = sql_columns(model)
        time, pk = c[field], c["id"]
        where = [f"{_customer_column(model)} = %s"]
        if rank == 0 and prefixes:
            test = " OR ".join(f"substr({c['type']}, 1, %s) = %s" for _ in range(prefixes))
            where.append(f"NOT ({test})" if exclude else f"({test})")
        if cursor is not None:
            cursor_rank = cursor[0]
            same = "1 = 1" if rank < cursor_rank else f"{pk} < %s" if rank == cursor_rank else "1 = 0"
            # The bound first, so that the engines read the (customer, time) index from the cursor down.
            where.append(f"{time} <= %s AND ({time} < %s OR ({time} = %s AND {same}))")
        branches.append(f"SELECT * FROM (SELECT {time} AS at, {rank} AS rank, {pk} AS id FROM {sql_table(model)} "
                        f"WHERE {' AND '.join(where)} ORDER BY {time} DESC, {pk} DESC LIMIT %s) AS s{rank}")
    return " UNION ALL ".join(branches) + " ORDER BY 1 DESC, 2 DESC, 3 DESC LIMIT %s"


def timeline_keys(customer_id: int, ranks: tuple[int, ...], event_prefixes: tuple[str, ...], exclude_prefixes: bool,
                  cursor: tuple | None, limit: int) -> list[tuple]:
    """The newest ``limit`` (time, rank, id) of the customer's rows in the sources ``ranks``
    after ``cursor`` (newest first), in one statement: each source read newest first from its
    index, at most ``limit`` rows each. Event rows are those whose type starts with one of
    ``event_prefixes`` (or, with ``exclude_prefixes``, with none of them)."""
    if not ranks:
        return []
    shape = None if cursor is None else (cursor[1],)
    sql = _timeline_sql(connection.vendor, tuple(ranks), len(event_prefixes), exclude_prefixes, shape)
    params: list = []
    for rank in ranks:
        params.append(customer_id)
        if rank == 0:
            for prefix in event_prefixes:
                params += [len(prefix), prefix]
        if cursor is not None:
            at, cursor_rank, cursor_id = cursor
            params += [sql_time(at), sql_time(at), sql_time(at)]
            if rank == cursor_rank:
                params.append(cursor_id)
        params.append(limit)
    params.append(limit)
    return [(aware_datetime(at), rank, pk) for at, rank, pk in select_rows(sql, params)]


def timeline_keys_orm(customer_id: int, ranks: tuple[int, ...], event_prefixes: tuple[str, ...], exclude_prefixes: bool,
                      cursor: tuple | None, limit: int) -> list[tuple]:
    from django.db.models import Q

    sources = _timeline_sources()
    keys = []
    for rank in ranks:
        model, field = sources[rank]
        query = model.objects.filter(customer_id=customer_id)
        if rank == 0 and event_prefixes:
            test = Q(pk__in=[])
            for prefix in event_prefixes:
                test |= Q(type__startswith=prefix)
            query = query.exclude(test) if exclude_prefixes else query.filter(test)
        if cursor is not None:
            at, cursor_rank, cursor_id = cursor
            older = Q(**{f"{field}__lt": at})
            if rank < cursor_rank:
                older |= Q(**{field: at})
            elif rank == cursor_rank:
                older |= Q(**{field: at, "pk__lt": cursor_id})
            query = query.filter(older)
        keys += [(at, rank, pk) for at, pk in query.order_by(f"-{field}", "-pk").values_list(field, "pk")[:limit]]
    return sorted(keys, reverse=True)[:limit]
