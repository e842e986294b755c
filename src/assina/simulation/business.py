"""The simulated business: "Agenda Certa", an online booking service for salons and clinics.

Most of its customers are in Brazil and pay in reais for plans named in Portuguese; the rest are
in the United States and pay in dollars for the same plans named in English (a plan has one name,
so each currency's plans carry the name its customers read in their mail). Catalog, BRL / USD:
Basic 29.90 / 9.90 a month, Pro 79.90 / 24.90 a month with a 14-day trial, Business 39.90 /
12.90 per seat a month, Pro annual 799.00 / 249.00 a year, a reminders add-on 19.90 / 5.90 a
month; a welcome coupon (20% off for 3 months, promotion codes BEMVINDO20 and WELCOME20) and a
partner coupon (R$ 10 off the Brazilian Pro, forever). Halfway through, the Brazilian Basic goes
up to 34.90 (existing subscribers keep 29.90). The Brazilian Basic, Pro and Pro annual are on the
pricing page (/pricing/).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from assina.analytics.models import ExchangeRate
from assina.catalog.services import change_plan_price, create_coupon, create_plan, create_promotion_code
from assina.selling.services import set_public

NAME = "Agenda Certa"  # the Makefile's DEMO_ENV gives ASSINA_BUSINESS_NAME the same
CURRENCY = "BRL"  # the business's own currency, the dashboard's reporting currency
# Plan families: what a customer chooses, whatever their currency.
BASIC, PRO, BUSINESS, PRO_ANNUAL, ADDON = "basic", "pro", "business", "pro-annual", "addon"
MONTHLY_FAMILIES = (BASIC, PRO, BUSINESS)
# Per currency and family: (plan code, name in the language of that currency's customers, amount).
CATALOG = {
    "BRL": {BASIC: ("basic", "Básico", 2990), PRO: ("pro", "Pro", 7990),
            BUSINESS: ("business", "Empresarial (por profissional)", 3990),
            PRO_ANNUAL: ("pro-annual", "Pro anual", 79900), ADDON: ("whatsapp-reminders", "Lembretes por WhatsApp", 1990)},
    "USD": {BASIC: ("basic-usd", "Basic", 990), PRO: ("pro-usd", "Pro", 2490),
            BUSINESS: ("business-usd", "Business (per professional)", 1290),
            PRO_ANNUAL: ("pro-annual-usd", "Pro annual", 24900), ADDON: ("reminders-usd", "Text reminders", 590)},
}
PLAN_CODES = tuple(code for plans in CATALOG.values() for code, _name, _amount in plans.values())
FAMILY = {code: family for plans in CATALOG.values() for family, (code, _name, _amount) in plans.items()}
WELCOME_COUPON, PARTNER_COUPON = "welcome-20", "partner-pro"
# The welcome offer's promotion code, in each currency's language.
WELCOME_PROMO = {"BRL": "BEMVINDO20", "USD": "WELCOME20"}
BASIC_NEW_PRICE = 3490
# One dollar in reais, for the dashboard's figures in BRL (the admin's Analytics > Exchange rates).
USD_RATE = Decimal("5.40")

# Stripe's cancellation feedback codes, with how often customers pick them.
CANCEL_REASONS = (("too_expensive", 30), ("unused", 22), ("switched_service", 14), ("missing_features", 13),
                  ("too_complex", 7), ("customer_service", 4), ("low_quality", 4), ("other", 6))


def plan_code(family: str, currency: str) -> str:
    return CATALOG[currency][family][0]


def create_catalog(at: datetime) -> None:
    for currency, plans in CATALOG.items():
        def plan(family: str, **options) -> None:
            code, name, amount = plans[family]
            create_plan(code=code, name=name, amount=amount, currency=currency, at=at, **options)

        plan(BASIC, interval="month")
        plan(PRO, interval="month", trial_days=14)
        plan(PRO_ANNUAL, interval="year", product_code=plans[PRO][0])
        plan(BUSINESS, interval="month", pricing_model="per_unit")
        plan(ADDON, interval="month", kind="addon")
    create_coupon(code=WELCOME_COUPON, name="Boas-vindas: 20% por 3 meses", duration="repeating",
                  duration_periods=3, percent_off="20",
                  plans=[plan_code(f, c) for c in CATALOG for f in MONTHLY_FAMILIES], at=at)
    for promo in WELCOME_PROMO.values():
        create_promotion_code(code=promo, coupon_code=WELCOME_COUPON, at=at)
    create_coupon(code=PARTNER_COUPON, name="Parceiros: R$ 10 off no Pro", duration="forever", amount_off=1000,
                  currency=CURRENCY, plans=[plan_code(PRO, CURRENCY)], at=at)
    # What the operator sets in the admin so that the dashboard adds dollars to reais.
    ExchangeRate.objects.create(currency="USD", rate=USD_RATE, valid_from=at.date())
    # The pricing page (/pricing/) sells the Brazilian Basic and Pro, Pro monthly or annual.
    for family in (BASIC, PRO, PRO_ANNUAL):
        set_public(plan_code(family, CURRENCY), True)


def raise_basic_price(at: datetime) -> None:
    change_plan_price(plan_code(BASIC, CURRENCY), amount=BASIC_NEW_PRICE, at=at)
