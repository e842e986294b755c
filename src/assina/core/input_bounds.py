"""Bounds on dates and codes a user gives (API, CLI, admin): one rule for every way in.

A date far in the past or the future (a coupon that expired in year 1, a pause until 9999) is a
typo, and near the ends of what ``datetime`` holds, adding a billing period overflows later, inside
a billing run. So dates a user sets are kept within ``EARLIEST`` and ``LATEST``: every realistic
backdated start or far expiry fits, and a period added to ``LATEST`` is still far from year 9999.
"""

from __future__ import annotations

from datetime import UTC, datetime

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)  # exclusive

# ISO 3166-1 alpha-2 country codes (the tz database's iso3166.tab: officially assigned codes).
_COUNTRY_TABLE = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS
    BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE
    EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM
    HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA
    NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
    TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRY_CODES = frozenset(_COUNTRY_TABLE.split())


def date_in_bounds(value: datetime) -> bool:
    """Whether ``value`` (with its zone) lies in [``EARLIEST``, ``LATEST``)."""
    return EARLIEST <= value < LATEST


def is_country_code(code: str) -> bool:
    """Whether ``code`` is an ISO 3166-1 alpha-2 code, in capitals (``BR``; not ``br``, ``Z1``, ``BRA``)."""
    return code in COUNTRY_CODES
