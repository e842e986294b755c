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
from assina.db import aware_datetime, select_rows, sql_columns, sql_in_list, sql_table
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
