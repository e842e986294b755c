"""The customer-facing texts of the invoice lines and credits that subscription changes write.

English templates marked for translation; the invoice writes them in the customer's language
when it is issued.
"""

from django.utils.translation import gettext_noop as N_

# The credit for the unused time when a period stops early:
# (credit note reason, invoice line description), by what stopped it.
UNUSED_TIME_TEXTS = {
    "pause": (N_("Unused time after pause"), N_("Unused time on %(plan)s after pause")),
    "cancellation": (N_("Unused time after cancellation"), N_("Unused time on %(plan)s after cancellation")),
}

# Proration line descriptions by (credit for the old terms or charge for the new, the period
# has add-ons, the period has a discount): proration covers the period's whole total, so the
# line says when that is more than the plan. Whole sentences, each translated as a whole.
PRORATION_TEXTS = {
    ("unused", False, False): N_("Unused time on %(plan)s × %(quantity)s"),
    ("unused", True, False): N_("Unused time on %(plan)s × %(quantity)s (with add-ons)"),
    ("unused", False, True): N_("Unused time on %(plan)s × %(quantity)s (with discount)"),
    ("unused", True, True): N_("Unused time on %(plan)s × %(quantity)s (with add-ons and discount)"),
    ("remaining", False, False): N_("Remaining time on %(plan)s × %(quantity)s"),
    ("remaining", True, False): N_("Remaining time on %(plan)s × %(quantity)s (with add-ons)"),
    ("remaining", False, True): N_("Remaining time on %(plan)s × %(quantity)s (with discount)"),
    ("remaining", True, True): N_("Remaining time on %(plan)s × %(quantity)s (with add-ons and discount)"),
}
