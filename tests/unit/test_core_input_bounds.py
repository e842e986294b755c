"""The bounds every way in applies to a user's dates and country codes."""

from datetime import UTC, datetime, timedelta

from assina.core.input_bounds import EARLIEST, LATEST, date_in_bounds, is_country_code


def test_dates_are_kept_between_1970_and_the_end_of_2099():
    assert date_in_bounds(EARLIEST) and date_in_bounds(LATEST - timedelta(microseconds=1))
    assert not date_in_bounds(LATEST) and not date_in_bounds(EARLIEST - timedelta(seconds=1))
    assert not date_in_bounds(datetime(1, 1, 1, tzinfo=UTC)) and not date_in_bounds(datetime(9999, 12, 31, tzinfo=UTC))


def test_country_codes_are_iso_3166_alpha_2_in_capitals():
    assert all(is_country_code(c) for c in ("BR", "PT", "US", "GB", "AQ"))
    assert not any(is_country_code(c) for c in ("Z1", "ZZ", "br", "BRA", "UK", ""))
