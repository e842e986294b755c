"""Onboarding in the churn model's features, as of each observation date (issue 20)."""

import numpy as np

from assina.core import churn
from assina.core.health_inputs import History, inputs_as_of


def _history(milestones) -> History:
    f, e = (lambda v: np.asarray(v, dtype=float)), np.zeros(0)
    ei = np.zeros(0, dtype=np.int64)
    return History(signup=f([0, 0, 300]), start=f([0, 0, 300]), end=f([np.inf] * 3), event_customer=ei,
                   event_time=e, payment_customer=ei, payment_time=e, payment_failed=np.zeros(0, dtype=bool),
                   due_customer=ei, due_from=e, due_until=e, answer_customer=ei, answer_time=e,
                   answer_survey=np.zeros(0, dtype=np.int8), answer_score=e, ticket_customer=ei, ticket_time=e,
                   milestone_reached=milestones, first_value=None if milestones is None else milestones[:, 0])


def test_milestones_count_from_the_day_they_are_reached():
    # Customer 0 reaches both milestones on days 5 and 40; customer 1 the first on day 30 only;
    # customer 2 signs up on day 300 and reaches none.
    h = _history(np.asarray([[5.0, 40.0], [30.0, np.nan], [np.nan, np.nan]]))
    x = inputs_as_of(h, 20.0)
    assert x.milestones_reached.tolist() == [1, 0, 0] and x.milestones_total.tolist() == [2, 2, 2]
    assert x.onboarding[:2].tolist() == [0.5, 0.0]
    assert x.days_to_first_value[0] == 5.0 and np.isnan(x.days_to_first_value[1])  # day 30 is after day 20
    X = churn.feature_matrix(x, churn.ONBOARDING)
    # Unfinished share × newness (1 − 20/90); waiting so far: 5 days reached, 20 days not yet.
    assert np.allclose(X[:2], [[0.5 * 70 / 90, 5 * 70 / 90], [70 / 90, 20 * 70 / 90]])
    later = inputs_as_of(h, 60.0)
    assert later.milestones_reached.tolist() == [2, 1, 0] and later.days_to_first_value[1] == 30.0
    # From 90 days a customer is no longer new: onboarding weighs nothing.
    assert churn.feature_matrix(inputs_as_of(h, 200.0), churn.ONBOARDING)[:2].tolist() == [[0, 0], [0, 0]]


def test_without_milestones_the_features_are_left_out_and_unknown_ones_contribute_nothing():
    h = _history(None)
    x = inputs_as_of(h, 20.0)
    assert churn.features_for(h.has_milestones) == churn.FEATURES
    assert np.isnan(x.onboarding).all() and x.milestones_total.tolist() == [0, 0, 0]
    # A model fitted with onboarding scores customers whose milestones are unknown as average on them.
    names = churn.FEATURES + churn.ONBOARDING
    k = len(names)
    params = {"features": list(names), "mean": [0.0] * (k - 2) + [0.3, 10.0], "scale": [1.0] * k,
              "coef": [0.0] * (k - 2) + [2.0, 1.0], "intercept": -1.0}
    X = churn.feature_matrix(x, names)
    assert np.isnan(X[:, -2:]).all()
    assert np.allclose(churn.predict(params, X), 1 / (1 + np.exp(1.0)))
    assert (churn.top_factors(params, X) == -1).all()
