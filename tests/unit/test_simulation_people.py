"""The demo's people: a name never repeats a word, and a home's country, time zone and currency go together."""

from __future__ import annotations

import random
from zoneinfo import ZoneInfo

from assina.simulation.people import CURRENCIES, EN_HOMES, PT_HOMES, People

LANGUAGE_HOME = {"pt-BR": ("BR", "BRL"), "en": ("US", "USD")}


def test_thousands_of_people_have_no_doubled_surname_and_live_where_their_currency_says():
    people = People(random.Random(7))
    drawn = [people.next() for _ in range(5000)]
    for person in drawn:
        words = person.name.split()
        assert len(words) == len(set(words)), person.name
        assert (person.country, person.currency) == LANGUAGE_HOME[person.locale], person
        ZoneInfo(person.time_zone)  # a real zone
    assert len({p.email for p in drawn}) == len(drawn)
    # Two surnames do occur (many Brazilians have them), just never the same one twice.
    assert any(len(p.name.split()) == 3 for p in drawn if p.locale == "pt-BR")
    homes = {(country, zone) for country, zone, _weight in PT_HOMES + EN_HOMES}
    assert {(p.country, p.time_zone) for p in drawn} <= homes
    assert set(CURRENCIES) == {country for country, _zone in homes}
