"""Plausible customers: names for both locales, unique example.com emails, a home whose country,
time zone and currency go together (Brazilians in Brazil pay in reais, Americans in dollars)."""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

PT_FIRST = (
    "Ana", "Maria", "Juliana", "Fernanda", "Camila", "Beatriz", "Larissa", "Patrícia", "Aline", "Gabriela",
    "Mariana", "Letícia", "Amanda", "Bruna", "Carolina", "Luana", "Renata", "Vanessa", "Débora", "Tatiane",
    "João", "José", "Pedro", "Lucas", "Gabriel", "Rafael", "Matheus", "Felipe", "Gustavo", "Bruno",
    "Thiago", "Rodrigo", "Leonardo", "Eduardo", "Marcelo", "André", "Diego", "Vinícius", "Caio", "Henrique",
)
PT_LAST = (
    "Silva", "Santos", "Oliveira", "Souza", "Rodrigues", "Ferreira", "Alves", "Pereira", "Lima", "Gomes",
    "Costa", "Ribeiro", "Martins", "Carvalho", "Almeida", "Lopes", "Soares", "Fernandes", "Vieira", "Barbosa",
    "Rocha", "Dias", "Nascimento", "Andrade", "Moreira", "Nunes", "Marques", "Machado", "Mendes", "Freitas",
    "Cardoso", "Ramos", "Gonçalves", "Santana", "Teixeira", "Araújo", "Correia", "Cavalcanti", "Monteiro", "Moura",
)
EN_FIRST = (
    "Emily", "Olivia", "Sarah", "Jessica", "Hannah", "Emma", "Grace", "Chloe", "Megan", "Laura",
    "Rachel", "Sophie", "Lauren", "Katie", "Amy", "James", "John", "Michael", "David", "Daniel",
    "Matthew", "Andrew", "Ryan", "Thomas", "Christopher", "Benjamin", "Samuel", "Jack", "Oliver", "William",
)
EN_LAST = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
    "Moore", "Martin", "Jackson", "Thompson", "White", "Harris", "Clark", "Lewis", "Walker", "Hall",
    "Young", "King", "Wright", "Scott", "Green", "Baker", "Adams", "Nelson", "Campbell", "Murphy",
    "O'Brien", "Kelly", "Walsh", "Hughes",
)
# (country, time zone, weight); the currency is the country's.
PT_HOMES = (("BR", "America/Sao_Paulo", 70), ("BR", "America/Recife", 10), ("BR", "America/Fortaleza", 8),
            ("BR", "America/Manaus", 5), ("BR", "America/Bahia", 7))
EN_HOMES = (("US", "America/New_York", 40), ("US", "America/Chicago", 20), ("US", "America/Denver", 8),
            ("US", "America/Los_Angeles", 27), ("US", "America/Phoenix", 5))
CURRENCIES = {"BR": "BRL", "US": "USD"}

PT_BR_SHARE = 0.6


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    locale: str
    country: str
    time_zone: str
    currency: str


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum() or ch in ".-_")


class People:
    """Draws people from a seeded generator; emails never repeat within one simulation."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._emails: set[str] = set()

    def next(self) -> Person:
        rng = self._rng
        if rng.random() < PT_BR_SHARE:
            locale, first, last = "pt-BR", rng.choice(PT_FIRST), rng.choice(PT_LAST)
            if rng.random() < 0.35:  # many Brazilians go by two surnames (two different ones)
                last = f"{rng.choice([n for n in PT_LAST if n != last])} {last}"
            homes = PT_HOMES
        else:
            locale, first, last = "en", rng.choice(EN_FIRST), rng.choice(EN_LAST)
            homes = EN_HOMES
        country, time_zone, _ = rng.choices(homes, weights=[w for *_, w in homes])[0]
        local = f"{_ascii(first)}.{_ascii(last.split()[-1])}"
        email, n = f"{local}@example.com", 1
        while email in self._emails:
            n += 1
            email = f"{local}{n}@example.com"
        self._emails.add(email)
        return Person(name=f"{first} {last}", email=email, locale=locale, country=country, time_zone=time_zone,
                      currency=CURRENCIES[country])
