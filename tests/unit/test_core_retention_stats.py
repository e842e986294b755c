"""The cancel flow's maths (``assina.core.retention_stats``) against numbers worked out by hand."""

from __future__ import annotations

import math

import pytest

from assina.core.retention_stats import StatsError, compare, fisher_exact, needs_exact_test, rate, shares, total_by_key, z_test


def test_rate_is_a_fraction_and_none_without_trials():
    assert rate(3, 12) == 0.25
    assert rate(0, 0) is None
    with pytest.raises(StatsError):
        rate(5, 4)
    with pytest.raises(StatsError):
        rate(-1, 4)


def test_shares_add_up_to_one_and_are_none_when_nothing_was_counted():
    assert shares({"too_expensive": 3, "unused": 1, "other": 0}) == {"too_expensive": 0.75, "unused": 0.25, "other": 0.0}
    assert shares({"unused": 0}) == {"unused": None}


def test_z_test_on_30_of_100_against_45_of_100():
    # pooled p = 75/200 = 0.375; se = sqrt(0.375 * 0.625 * (1/100 + 1/100)) = sqrt(0.0046875) = 0.0684653;
    # z = (0.30 - 0.45) / 0.0684653 = -2.19089; two-sided p = erfc(2.19089 / sqrt 2) = 0.02846.
    assert z_test(30, 100, 45, 100) == pytest.approx(0.02846, abs=1e-5)
    result = compare(30, 100, 45, 100)
    assert (result.test, result.significant) == ("z", True)
    assert result.rate_a == 0.30 and result.rate_b == 0.45
    assert result.difference == pytest.approx(0.15)


def test_z_test_on_10_of_50_against_15_of_50_is_not_significant():
    # pooled p = 0.25; se = sqrt(0.25 * 0.75 * 0.04) = 0.0866025; z = -0.1 / 0.0866025 = -1.1547; p = 0.24821.
    result = compare(10, 50, 15, 50)
    assert result.test == "z" and result.p_value == pytest.approx(0.24821, abs=1e-5) and not result.significant


def test_small_counts_use_fishers_exact_test():
    # [[1, 4], [4, 1]]: hypergeometric over C(10, 5) = 252 tables with 5 successes; tables as or
    # less likely than the observed one: x = 0, 1, 4, 5 -> (1 + 25 + 25 + 1) / 252 = 0.206349.
    assert needs_exact_test(1, 5, 4, 5)
    assert fisher_exact(1, 5, 4, 5) == pytest.approx(52 / 252)
    result = compare(1, 5, 4, 5)
    assert result.test == "fisher" and result.p_value == pytest.approx(52 / 252) and not result.significant
    # [[0, 10], [8, 2]]: P(x = 0) = C(10,0) C(10,8) / C(20,8) = 45 / 125970; the tables as extreme are
    # x = 0 and x = 8 (45 each): p = 90 / 125970 = 0.000714 -> significant.
    assert compare(0, 10, 8, 10).p_value == pytest.approx(90 / 125970)
    assert compare(0, 10, 8, 10).significant


def test_the_z_test_is_trusted_only_with_five_expected_in_every_cell():
    # 4 successes of 40 in all: 2 expected per group -> exact test.
    assert needs_exact_test(1, 20, 3, 20)
    assert not needs_exact_test(30, 100, 45, 100)


def test_no_comparison_without_sessions_in_a_variant():
    result = compare(3, 10, 0, 0)
    assert (result.rate_a, result.rate_b, result.difference, result.p_value, result.test, result.significant) == (
        0.3, None, None, None, None, False)


def test_identical_all_or_nothing_variants_do_not_differ():
    assert z_test(50, 50, 60, 60) == 1.0
    assert compare(50, 50, 60, 60).p_value == 1.0


def test_as_dict_names_both_variants():
    shown = compare(30, 100, 45, 100).as_dict()
    assert shown["a"] == {"successes": 30, "trials": 100, "rate": 0.3} and shown["test"] == "z"
    assert math.isclose(shown["difference"], 0.15)


def test_total_by_key_sums_per_currency():
    assert total_by_key([("BRL", 4990), ("USD", 1000), ("BRL", 10)]) == {"BRL": 5000, "USD": 1000}
