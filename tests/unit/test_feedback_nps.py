"""NPS and CSAT arithmetic with hand-computed numbers (assina.core.nps), and the themes' pure
helpers (assina.core.text_themes)."""

from __future__ import annotations

import numpy as np
import pytest

from assina.core import nps
from assina.core.text_themes import adjusted_rand_index, contains_phrase, fold, matching_themes


def test_nps_groups_and_score_by_hand():
    # 10 answers: promoters 9, 10, 10 (3); passives 7, 8 (2); detractors 0, 3, 6, 6, 5 (5).
    summary = nps.nps_of([9, 10, 10, 7, 8, 0, 3, 6, 6, 5])
    assert (summary.responses, summary.promoters, summary.passives, summary.detractors) == (10, 3, 2, 5)
    assert summary.nps == -20.0  # 30 % − 50 %
    assert summary.as_dict()["passives_pct"] == 20.0


def test_nps_rounds_once_half_up():
    # 2 promoters, 1 detractor of 3: 66.67 % − 33.33 % = 33.333… → 33.3; 1 promoter of 8: 12.5 → 12.5
    assert nps.nps_of([10, 9, 0]).nps == 33.3
    assert nps.nps_of([10, 7, 7, 7, 7, 7, 7, 7]).nps == 12.5
    # 1 of 16 = 6.25 → 6.3 (half up, not banker's 6.2)
    assert nps.nps_of([9] + [8] * 15).nps == 6.3


def test_boundaries_of_the_groups():
    assert [nps.category(s) for s in (0, 6, 7, 8, 9, 10)] == ["detractor", "detractor", "passive", "passive",
                                                             "promoter", "promoter"]


def test_all_promoters_and_all_detractors_and_none():
    assert nps.nps_of([10, 9]).nps == 100.0
    assert nps.nps_of([0, 1, 2]).nps == -100.0
    assert nps.nps_of([]).nps is None


def test_counts_and_vector_agree_on_a_million_scores():
    scores = np.random.default_rng(1).integers(0, 11, 1_000_000)
    counts = np.bincount(scores, minlength=11)
    assert nps.nps_of(scores) == nps.nps_from_counts(counts)


def test_csat_is_the_share_of_fours_and_fives():
    summary = nps.csat_of([5, 4, 3, 2, 1, 5, 4])  # 4 of 7 = 57.142… → 57.1
    assert (summary.responses, summary.satisfied, summary.csat) == (7, 4, 57.1)
    assert nps.csat_of([]).csat is None


def test_response_rate():
    assert nps.response_rate(3, 8) == 37.5
    assert nps.response_rate(0, 0) is None


@pytest.mark.parametrize("survey,score", [("nps", 11), ("nps", -1), ("csat", 0), ("csat", 6), ("nps", None),
                                          ("note", 3), ("nps", True), ("other", 1)])
def test_scores_outside_the_scale_are_refused(survey, score):
    with pytest.raises(nps.ScoreError):
        nps.check_score(survey, score)


def test_ranking_puts_passives_and_detractors_first():
    loud_promoters = nps.rank_weight(detractors=0, passives=1, promoters=20)
    unhappy = nps.rank_weight(detractors=3, passives=1, promoters=0)
    assert sorted([loud_promoters, unhappy], reverse=True)[0] == unhappy


def test_phrases_and_folding():
    assert fold("Preço") == "preco"
    assert contains_phrase(["o", "app", "fech", "sozinh"], ("fech", "sozinh"))
    assert not contains_phrase(["sozinh", "fech"], ("fech", "sozinh"))
    assert matching_themes(["too", "much", "money"], {"price": [("much", "money")], "bugs": [("crash",)]}) == ["price"]


def test_adjusted_rand_index_by_hand():
    assert adjusted_rand_index([0, 0, 1, 1], [5, 5, 7, 7]) == 1.0
    # scikit-learn's adjusted_rand_score gives 0.2424… for this pair
    value = adjusted_rand_index([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2])
    assert value == pytest.approx(0.2424242424)


def test_a_detractor_weighs_twice_a_passive():
    # 10 detractors (20) outrank 15 passives (15); 10 detractors tie 20 passives, then detractors decide.
    assert nps.rank_weight(10, 0, 0) > nps.rank_weight(0, 15, 0)
    assert nps.rank_weight(10, 0, 0) > nps.rank_weight(0, 20, 0)
    assert nps.rank_weight(10, 0, 0)[0] == nps.rank_weight(0, 20, 0)[0]
