"""Health inputs as of a date from a business's history: only what was known then (issue 20)."""

import numpy as np

from assina.core.health_inputs import History, alive_at, churned_within, inputs_as_of, observation_dates


def _history() -> History:
    i, f = np.asarray, lambda v: np.asarray(v, dtype=float)
    # Customer 0: events on days 10, 40, 45, 95 and 130; customer 1: none. Times in days.
    return History(
        signup=f([0, 50]), start=f([0, 50]), end=f([np.inf, 120]),
        event_customer=i([0, 0, 0, 0, 0]), event_time=f([10, 40, 45, 95, 130]),
        payment_customer=i([0, 1, 0, 1]), payment_time=f([30, 80, 60, 90]), payment_failed=i([0, 1, 1, 0]).astype(bool),
        due_customer=i([1]), due_from=f([80]), due_until=f([90]),
        answer_customer=i([0, 0, 1]), answer_time=f([20, 70, 85]), answer_survey=i([0, 0, 1]).astype(np.int8),
        answer_score=f([9, 4, 2]), ticket_customer=i([1, 1]), ticket_time=f([82, 99]))


def test_inputs_as_of_a_date_ignore_what_came_after():
    h = _history()
    # Payments must be sorted by time: 30, 60, 80, 90.
    order = np.argsort(h.payment_time, kind="stable")
    h.payment_customer, h.payment_time, h.payment_failed = (h.payment_customer[order], h.payment_time[order],
                                                            h.payment_failed[order])
    x = inputs_as_of(h, 100.0)
    # Events in (70, 100]: 95; in (40, 70]: 45. Last seen day 95 -> 5 days idle. Day 130 is in the future.
    assert x.events_30.tolist() == [1, 0] and x.events_prev_30.tolist() == [1, 0]
    assert x.days_since_activity[0] == 5 and np.isnan(x.days_since_activity[1])
    # Failed payments in (10, 100]: customer 0 on day 60, customer 1 on day 80; their last payments:
    # customer 0 day 60 (failed), customer 1 day 90 (paid). Past due from 80 to 90: over at 100.
    assert x.failed_90.tolist() == [1, 1] and x.last_payment_failed.tolist() == [True, False]
    assert x.past_due.tolist() == [False, False] and inputs_as_of(h, 85.0).past_due.tolist() == [False, True]
    # The latest NPS of customer 0 is the 4 of day 70 (January 1970: 197003); customer 1 answered a CSAT of 2.
    assert x.nps[0] == 4 and x.nps_month[0] == 197003 and np.isnan(x.nps[1]) and x.csat[1] == 2
    assert inputs_as_of(h, 50.0).nps[0] == 9  # before day 70, the 9 of day 20
    assert x.tickets_30.tolist() == [0, 2] and x.tenure_days.tolist() == [100, 50]
    assert alive_at(h, 100.0).tolist() == [True, True] and alive_at(h, 120.0).tolist() == [True, False]
    assert churned_within(h, 100.0).tolist() == [False, True] and churned_within(h, 80.0).tolist() == [False, False]
    # Observation dates every 30 days back from until - 30, the first 60 days after the first start.
    assert observation_dates(h, 200.0) == [80.0, 110.0, 140.0, 170.0]
