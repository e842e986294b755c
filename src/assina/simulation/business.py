"""The simulated business: "Agenda Certa", an online booking SaaS for Brazilian salons and clinics.

Its catalog (BRL): Basic 29.90/month, Pro 79.90/month with a 14-day trial, Business 39.90 per
seat/month, Pro annual 799.00/year, a WhatsApp-reminders add-on 19.90/month; a welcome
coupon (20% off for 3 months, promotion code BEMVINDO20) and a partner coupon (R$ 10 off
Pro, forever). Halfway through, Basic goes up to 34.90 (existing subscribers keep 29.90).
"""

from __future__ import annotations

from datetime import datetime

from assina.catalog.services import change_plan_price, create_coupon, create_plan, create_promotion_code

CURRENCY = "BRL"
BASIC, PRO, BUSINESS, PRO_ANNUAL, WHATSAPP = "basic", "pro", "business", "pro-annual", "whatsapp-reminders"
WELCOME_COUPON, WELCOME_PROMO = "welcome-20", "BEMVINDO20"
PARTNER_COUPON = "partner-pro"
MONTHLY_PLANS = (BASIC, PRO, BUSINESS)
PLAN_CODES = (BASIC, PRO, BUSINESS, PRO_ANNUAL, WHATSAPP)
BASIC_NEW_PRICE = 3490

# Stripe's cancellation feedback codes, with how often customers pick them.
CANCEL_REASONS = (("too_expensive", 30), ("unused", 22), ("switched_service", 14), ("missing_features", 13),
                  ("too_complex", 7), ("customer_service", 4), ("low_quality", 4), ("other", 6))


def create_catalog(at: datetime) -> None:
    create_plan(code=BASIC, name="Básico", amount=2990, currency=CURRENCY, interval="month", at=at)
    create_plan(code=PRO, name="Pro", amount=7990, currency=CURRENCY, interval="month", trial_days=14, at=at)
    create_plan(code=PRO_ANNUAL, name="Pro anual", amount=79900, currency=CURRENCY, interval="year",
                product_code=PRO, at=at)
    create_plan(code=BUSINESS, name="Empresarial (por profissional)", amount=3990, currency=CURRENCY,
                interval="month", pricing_model="per_unit", at=at)
    create_plan(code=WHATSAPP, name="Lembretes por WhatsApp", amount=1990, currency=CURRENCY, interval="month",
                kind="addon", at=at)
    create_coupon(code=WELCOME_COUPON, name="Boas-vindas: 20% por 3 meses", duration="repeating",
                  duration_periods=3, percent_off="20", plans=list(MONTHLY_PLANS), at=at)
    create_promotion_code(code=WELCOME_PROMO, coupon_code=WELCOME_COUPON, at=at)
    create_coupon(code=PARTNER_COUPON, name="Parceiros: R$ 10 off no Pro", duration="forever", amount_off=1000,
                  currency=CURRENCY, plans=[PRO], at=at)


def raise_basic_price(at: datetime) -> None:
    change_plan_price(BASIC, amount=BASIC_NEW_PRICE, at=at)
