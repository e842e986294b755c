"""Every message Assina sends: its key, whether it is transactional or marketing, and the
variables its template may use (with sample values for validation, previews and test sends).

Templates only see plain dicts of ready-made strings (amounts and dates already formatted for
the customer), never models: an edited template cannot reach into the database, and validating
a template against the sample is exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

TRANSACTIONAL = "transactional"
MARKETING = "marketing"


@dataclass(frozen=True)
class MessageSpec:
    key: str
    label: object
    kind: str
    # Sample values of the variables this message adds to the common ones (same shapes as real).
    sample: dict = field(default_factory=dict)


SUBSCRIPTION = {"plan": "Pro", "amount": "R$ 49,90", "interval": "mês", "period_end": "21 de dezembro de 2026",
                "trial_end": "24 de novembro de 2026", "renews_on": "21 de dezembro de 2026"}
INVOICE = {"number": "2026-000123", "total": "R$ 49,90", "amount_due": "R$ 49,90", "amount_paid": "R$ 25,46",
           "credit_applied": "-R$ 24,44", "paid_by_credit": False,
           "paid_on": "21 de novembro de 2026", "period_start": "21 de novembro de 2026",
           "period_end": "21 de dezembro de 2026",
           "lines": [{"description": "Pro", "amount": "R$ 49,90"}]}
CARD = {"brand": "visa", "last4": "4242", "expires": "12/2026"}

PRICE_MIGRATION = {
    "plan": "Pro", "old_price": "R$ 49,90", "new_price": "R$ 59,90", "interval": "mês",
    "effective_on": "21 de dezembro de 2026", "changes_on": "21 de dezembro de 2026",
    "options": [{"value": "accept", "title": "Manter o Pro", "price": "R$ 59,90",
                 "text": "A partir de 21 de dezembro de 2026 você paga R$ 59,90 por mês em vez de R$ 49,90."},
                {"value": "switch", "title": "Mudar para o Básico", "price": "R$ 49,90",
                 "text": "A partir de 21 de dezembro de 2026 você paga R$ 49,90 por mês, perto do que paga hoje."}],
    "default": "Se você não escolher até 21 de dezembro de 2026: Manter o Pro.",
    "cancel": "Você também pode cancelar antes de 21 de dezembro de 2026: o novo preço não será cobrado.",
}

COMMON_SAMPLE = {
    "business": {"name": "Assina", "logo_url": "", "color": "#2563eb", "url": "https://example.com"},
    "customer": {"name": "Ana Souza", "first_name": "Ana", "email": "ana@example.com"},
    "account_url": "https://example.com/portal/enter/TOKEN/",
    "unsubscribe_url": "",
    "reply_to": "ajuda@example.com",
}

MESSAGES: dict[str, MessageSpec] = {spec.key: spec for spec in [
    MessageSpec("welcome", _("Welcome (day 0)"), TRANSACTIONAL, {"subscription": SUBSCRIPTION, "trialing": True}),
    MessageSpec("onboarding_1", _("Onboarding, second message"), TRANSACTIONAL, {"subscription": SUBSCRIPTION, "day": 3}),
    MessageSpec("onboarding_2", _("Onboarding, third message"), TRANSACTIONAL, {"subscription": SUBSCRIPTION, "day": 7}),
    MessageSpec("trial_ending", _("Trial ending"), TRANSACTIONAL,
                {"subscription": SUBSCRIPTION, "card": CARD, "has_card": True, "days_left": 3}),
    MessageSpec("renewal_upcoming", _("Upcoming renewal"), TRANSACTIONAL,
                {"subscription": SUBSCRIPTION, "days_before": 7, "card": CARD, "has_card": True,
                 # What the renewal will charge (``reminders.charge_vars``): a skipped delivery charges nothing.
                 "charge": {"amount_due": "R$ 49,90", "credit": "", "none": False, "skipped": False, "new_plan": ""}}),
    MessageSpec("receipt", _("Receipt"), TRANSACTIONAL, {"invoice": INVOICE, "subscription": SUBSCRIPTION,
                                                          "invoice_pdf_url": "https://example.com/c/invoice/TOKEN/pdf"}),
    MessageSpec("payment_failed", _("Payment failed"), TRANSACTIONAL,
                {"invoice": INVOICE, "payment": {"amount": "R$ 49,90", "reason": "seu banco recusou o pagamento", "attempt": 1,
                                                 "next_retry_on": "24 de novembro de 2026"},
                 "update_card_url": "https://example.com/c/card/TOKEN/"}),
    MessageSpec("card_expiring", _("Payment method expiring"), TRANSACTIONAL,
                {"card": CARD, "update_card_url": "https://example.com/c/card/TOKEN/"}),
    MessageSpec("price_change", _("Price change notice"), TRANSACTIONAL,
                {"subscription": SUBSCRIPTION, "old_price": "R$ 49,90", "new_price": "R$ 59,90",
                 "effective_on": "21 de dezembro de 2026"}),
    MessageSpec("paused", _("Subscription paused"), TRANSACTIONAL,
                {"subscription": SUBSCRIPTION, "resumes_on": "21 de dezembro de 2026"}),
    MessageSpec("resumed", _("Subscription resumed"), TRANSACTIONAL, {"subscription": SUBSCRIPTION}),
    MessageSpec("cancellation", _("Cancellation confirmation"), TRANSACTIONAL,
                {"subscription": SUBSCRIPTION, "access_ends_on": "21 de dezembro de 2026", "ended": False,
                 "reactivate_url": "https://example.com/c/reactivate/TOKEN/"}),
    MessageSpec("winback", _("Win-back after churn"), MARKETING,
                {"subscription": SUBSCRIPTION, "offer_code": "VOLTA20"}),
    MessageSpec("value_report", _("Monthly value report"), MARKETING,
                {"month": "novembro de 2026", "usage": [{"metric": "chamadas de API", "total": "1.234"}]}),
    # The customer portal's sign-in link, asked for at /portal/login (assina.portal, issue 16).
    MessageSpec("portal_link", _("Portal sign-in link"), TRANSACTIONAL,
                {"portal_url": "https://example.com/portal/enter/TOKEN/", "minutes": 15}),
    # The cancel flow's offer, accepted and applied: a discount or a cheaper plan (assina.retention, issue 16).
    MessageSpec("retention_offer_accepted", _("Cancel flow offer accepted"), TRANSACTIONAL,
                {"subscription": SUBSCRIPTION, "portal_url": "https://example.com/portal/login",
                 "offer": {"kind": "discount", "plan": "Pro", "percent_off": "20%", "periods": 3, "forever": False,
                           "discounted_amount": "R$ 39,92", "resumes_on": ""}}),
    # Surveys (assina.feedback, issue 17): service messages with their own opt-out link.
    MessageSpec("survey_nps", _("NPS survey"), TRANSACTIONAL,
                {"scores": [{"score": n, "url": f"https://example.com/s/TOKEN/{n}/"} for n in range(11)],
                 "survey_url": "https://example.com/s/TOKEN/", "opt_out_url": "https://example.com/s/TOKEN/opt-out/"}),
    MessageSpec("survey_csat", _("CSAT survey"), TRANSACTIONAL,
                {"scores": [{"score": n, "url": f"https://example.com/s/TOKEN/{n}/"} for n in range(1, 6)],
                 "survey_url": "https://example.com/s/TOKEN/", "opt_out_url": "https://example.com/s/TOKEN/opt-out/"}),
    MessageSpec("theme_addressed", _("You asked, we did"), MARKETING,
                {"theme": "Rapidez do suporte", "note": "Agora respondemos em até 4 horas."}),
    # To the owner (ASSINA_OWNER_EMAIL), weekly: the pain points more customers raise lately (assina.feedback).
    MessageSpec("feedback_digest", _("Weekly digest of rising themes"), TRANSACTIONAL,
                {"week_start": "30 de novembro de 2026", "week_end": "6 de dezembro de 2026",
                 "themes": [{"name": "Rapidez do suporte", "last_7_days": 12, "weekly_average": "3,5",
                             "detractors": 7, "example": "O suporte demora dias para responder"}],
                 "feedback_url": "https://example.com/dashboard/feedback/"}),
    # Two days before a temporary upgrade (a free trial of a higher plan) ends (assina.upgrades, issue 16).
    MessageSpec("upgrade_trial_ending", _("Temporary upgrade ending"), TRANSACTIONAL,
                {"subscription": SUBSCRIPTION, "trial_plan": "Premium", "ends_on": "21 de dezembro de 2026",
                 "new_price": "R$ 59,90", "portal_url": "https://example.com/portal/enter/TOKEN/"}),
    # A price increase with a choice (assina.repricing, issue 19): the notice, and the reminder 7 days before.
    MessageSpec("price_migration_notice", _("Price increase with a choice"), TRANSACTIONAL, PRICE_MIGRATION),
    MessageSpec("price_migration_reminder", _("Price increase reminder"), TRANSACTIONAL, PRICE_MIGRATION),
    # A playbook's coupon offered in the portal, accepted by the customer (assina.playbooks, issue 20).
    MessageSpec("playbook_offer_accepted", _("Offer accepted in the portal"), TRANSACTIONAL,
                {"offer": {"discount": "20% de desconto nas próximas 3 faturas", "plan": "Pro",
                           "starts_on": "21 de dezembro de 2026"}}),
]}

# Campaigns are written in the admin; they may use the common variables only.
CAMPAIGN_KEY = "campaign"
TEST_SAMPLE_KEY = "test"


# The samples are written as a Portuguese customer reads them; an English preview reads these.
ENGLISH_SAMPLE = {
    "21 de novembro de 2026": "November 21, 2026", "24 de novembro de 2026": "November 24, 2026",
    "21 de dezembro de 2026": "December 21, 2026", "R$ 49,90": "R$49.90", "R$ 25,46": "R$25.46", "-R$ 24,44": "-R$24.44", "R$ 59,90": "R$59.90", "R$ 39,92": "R$39.92", "mês": "month",
    "novembro de 2026": "November 2026", "seu banco recusou o pagamento": "your bank declined the payment", "1.234": "1,234", "chamadas de API": "API calls",
    "Rapidez do suporte": "Support speed", "Agora respondemos em até 4 horas.": "We now answer within 4 hours.",
    "Manter o Pro": "Keep Pro", "20% de desconto nas próximas 3 faturas": "20% off your next 3 invoices", "Mudar para o Básico": "Switch to Basic",
    "A partir de 21 de dezembro de 2026 você paga R$ 59,90 por mês em vez de R$ 49,90.":
        "From December 21, 2026 you pay R$59.90 per month instead of R$49.90.",
    "A partir de 21 de dezembro de 2026 você paga R$ 49,90 por mês, perto do que paga hoje.":
        "From December 21, 2026 you pay R$49.90 per month, close to what you pay today.",
    "Se você não escolher até 21 de dezembro de 2026: Manter o Pro.": "If you do not choose by December 21, 2026: Keep Pro.",
    "Você também pode cancelar antes de 21 de dezembro de 2026: o novo preço não será cobrado.":
        "You may also cancel before December 21, 2026: you will not be charged the new price.",
}


def sample_context(key: str, locale: str = "pt-BR") -> dict:
    spec = MESSAGES.get(key)
    sample = {**COMMON_SAMPLE, **(spec.sample if spec else {})}
    return sample if locale == "pt-BR" else _english(sample)


def _english(value):
    if isinstance(value, dict):
        return {k: _english(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_english(v) for v in value]
    return ENGLISH_SAMPLE.get(value, value) if isinstance(value, str) else value


def kind_of(key: str) -> str:
    spec = MESSAGES.get(key)
    return spec.kind if spec else MARKETING
