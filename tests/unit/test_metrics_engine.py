"""The metrics engine on generated change tables (no database): movements always reconcile and
agree with a plain, row-by-row reading of the same definitions."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from assina.analytics.engine.movements import KINDS, customer_changes, monthly_series, sub_deltas
from assina.analytics.engine.report import Dataset, Query, compute
from assina.analytics.engine.table import DAY, ChangeTable, Customers, DunningFacts, Filters, SubscriptionFacts, month_of

MONTH0 = int(month_of(np.array([np.datetime64("2027-01-01", "s").astype(np.int64)]))[0])
START = int(np.datetime64("2027-01-01", "s").astype(np.int64))

# A subscription's life: (day offset, MRR level from then on); several subscriptions per customer.
lives = st.lists(st.tuples(st.integers(0, 3), st.lists(st.tuples(st.integers(0, 200), st.sampled_from([0, 0, 1000, 2500, 4000, 9990])),
                                                       min_size=1, max_size=6)), min_size=1, max_size=25)


def table_of(generated) -> ChangeTable:
    sub, customer, at, level = [], [], [], []
    for i, (cust, changes) in enumerate(generated):
        for day, value in sorted(changes, key=lambda c: c[0]):
            sub.append(i + 1)
            customer.append(cust + 1)
            at.append(START + day * DAY + 3600 * (i % 5))
            level.append(value)
    n = len(sub)
    arr = lambda v, t=np.int64: np.array(v, dtype=t)  # noqa: E731
    return ChangeTable(arr(sub), arr(customer), arr(at), arr(level), arr(level), np.zeros(n, np.int32),
                       np.zeros(n, np.int16), np.zeros(n, np.int8), ["p"], ["BRL"], "BRL", [])


def reference(table: ChangeTable, as_of: int) -> dict:
    """The definitions read literally, one row at a time (slow, obvious)."""
    by_sub = defaultdict(list)
    for s, c, t, v in zip(table.sub.tolist(), table.customer.tolist(), table.at.tolist(), table.mrr.tolist()):
        if t <= as_of:
            by_sub[s].append((t, c, v))
    deltas = defaultdict(int)  # (customer, day) -> net change
    for rows in by_sub.values():
        previous = 0
        for t, c, v in rows:
            deltas[(c, t // DAY)] += v - previous
            previous = v
    level, ever, out = defaultdict(int), set(), defaultdict(int)
    for (c, day) in sorted(deltas):
        d = deltas[(c, day)]
        if d == 0:
            continue
        before, after = level[c], level[c] + d
        if before == 0:
            kind = "reactivation" if c in ever else "new"
            ever.add(c)
        elif after == 0:
            kind = "churn"
        else:
            kind = "expansion" if after > before else "contraction"
        month = int(month_of(np.array([day * DAY]))[0])
        out[(month, kind)] += d
        level[c] = after
    return out


@settings(max_examples=150, deadline=None)
@given(lives, st.integers(0, 220))
def test_movements_always_reconcile_and_match_the_row_by_row_reading(generated, cut):
    table = table_of(generated)
    as_of = START + cut * DAY
    customer, at, delta = sub_deltas(table, table.mrr, as_of)
    changes = customer_changes(customer, at, delta)
    series = monthly_series(changes, MONTH0, MONTH0 + 7)
    # MRR(start) + movements = MRR(end), every month, and months chain.
    assert (series.mrr_start + series.amount.sum(axis=1) == series.mrr_end).all()
    assert (series.mrr_start[1:] == series.mrr_end[:-1]).all()
    # The MRR at the end equals the sum of each subscription's last level up to as_of.
    last = {}
    for s, t, v in zip(table.sub.tolist(), table.at.tolist(), table.mrr.tolist()):
        if t <= as_of:
            last[s] = v
    assert series.mrr_end[-1] == sum(last.values())
    expected = reference(table, as_of)
    for i in range(len(series.months)):
        for k, kind in enumerate(KINDS):
            assert series.amount[i, k] == expected.get((MONTH0 + i, kind), 0), (i, kind)
    # Churn only ever takes a customer to 0, contraction never does, new happens once per customer.
    assert (changes.after[changes.kind == KINDS.index("churn")] == 0).all()
    assert (changes.after[changes.kind == KINDS.index("contraction")] > 0).all()
    news = changes.customer[changes.kind == KINDS.index("new")]
    assert len(news) == len(np.unique(news))


@settings(max_examples=40, deadline=None)
@given(lives)
def test_the_report_reconciles_for_any_generated_business(generated):
    table = table_of(generated)
    ids = np.unique(table.customer)
    none = np.full(len(ids), 0, dtype=np.int32)
    empty = np.zeros(0, dtype=np.int64)
    data = Dataset(table, Customers(ids, none, none, none.astype(np.int16), [""], [""]),
                   SubscriptionFacts(empty, empty, empty.astype(np.int32), empty, empty, empty, empty, empty.astype(np.int32),
                                     empty, empty, []),
                   DunningFacts(empty, empty, np.zeros(0, dtype=bool), empty, empty, empty))
    report = compute(data, Query(as_of=START + 240 * DAY, first_month=MONTH0, last_month=MONTH0 + 7, filters=Filters()))
    assert report["reconciles"]
    for m in report["months"]:
        assert m["mrr_start"] + sum(m[k] for k in KINDS) == m["mrr_end"]
        nrr, grr = m["net_revenue_retention"], m["gross_revenue_retention"]
        if grr is not None:
            assert 0 <= grr <= 1 + 1e-9 and grr <= nrr + 1e-9
    c = report["cohorts"]
    assert sum(c["size"]) == report["summary"]["new_customers"]
