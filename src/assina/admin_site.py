"""The admin as an owner uses it: its index grouped by what they work with, internal tables hidden.

Django lists models app by app (Catalog, Invoices, Payments, ...), which is how the code is laid
out, not how a shop owner thinks. The index and the side bar show eight groups instead —
Customers, Subscriptions, Invoices, Plans, Coupons, Messages, Webhooks, Settings — and leave out
the tables only the billing engine reads (number sequences, sandbox cards and charges, pending
items, invoice lines as a list of their own). Hidden tables keep their pages: links from an
invoice still open its lines, and a staff member can type the address.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# (group id, title, [(app_label, model name), ...]) in the order the index shows them.
GROUPS = (
    ("customers", _("Customers"), [("customers", "customer"), ("payments", "paymentmethod"),
                                   ("customers", "balancetransaction")]),
    ("subscriptions", _("Subscriptions"), [("subscriptions", "subscription"), ("subscriptions", "scheduledchange"),
                                           ("usage", "usageevent"), ("usage", "usagecharge")]),
    ("invoices", _("Invoices"), [("invoices", "invoice"), ("invoices", "creditnote"), ("payments", "paymentattempt"),
                                 ("payments", "refund")]),
    ("plans", _("Plans"), [("catalog", "product"), ("catalog", "plan"), ("catalog", "planversion"), ("catalog", "metric"),
                           ("catalog", "meteredprice")]),
    ("coupons", _("Coupons"), [("catalog", "coupon"), ("catalog", "promotioncode")]),
    ("messages", _("Messages"), [("notifications", "message"), ("notifications", "campaign"),
                                 ("notifications", "segment"), ("notifications", "messagetemplate"),
                                 ("notifications", "marketingconsent")]),
    ("webhooks", _("Webhooks"), [("webhooks", "webhookendpoint"), ("webhooks", "webhookdelivery")]),
    ("settings", _("Settings"), [("payments", "dunningpolicy"), ("analytics", "exchangerate"), ("api", "apikey"),
                                 ("auth", "user"), ("auth", "group"), ("clock", "clockstate"), ("events", "event")]),
)
# Tables the billing engine keeps for itself.
HIDDEN = {("invoices", "numbersequence"), ("payments", "sandboxcard"), ("payments", "sandboxcharge"),
          ("invoices", "pendingitem"), ("invoices", "invoiceline"), ("subscriptions", "subscriptionitem")}


def grouped(app_list: list[dict]) -> list[dict]:
    """Django's per-app list regrouped; a model no group names goes to Settings, never lost."""
    models = {}
    for app in app_list:
        for model in app["models"]:
            models[(app["app_label"], model["object_name"].lower())] = model
    placed = set(HIDDEN)
    groups = []
    for key, title, members in GROUPS:
        entries = [models[m] for m in members if m in models]
        placed.update(members)
        groups.append({"key": key, "name": str(title), "entries": entries})
    leftovers = [model for key, model in models.items() if key not in placed]
    groups[-1]["entries"].extend(sorted(leftovers, key=lambda m: str(m["name"])))
    return [{"name": g["name"], "app_label": g["key"], "app_url": g["entries"][0]["admin_url"] or "",
             "has_module_perms": True, "models": g["entries"]} for g in groups if g["entries"]]

# Portuguese writes month names in lower case ("7 de dezembro de 2026", as the e-mails and PDFs
# do); Django's own pt-BR catalog capitalises them. These entries put the lower-case names in
# Assina's catalog (src/assina/locale), which Django reads before its own, so every admin date
# follows. Never read here: they exist for `make messages`.
MONTH_NAMES = (
    _("January"), pgettext_lazy("alt. month", "January"), pgettext_lazy("abbrev. month", "Jan."),
    _("February"), pgettext_lazy("alt. month", "February"), pgettext_lazy("abbrev. month", "Feb."),
    _("March"), pgettext_lazy("alt. month", "March"), pgettext_lazy("abbrev. month", "March"),
    _("April"), pgettext_lazy("alt. month", "April"), pgettext_lazy("abbrev. month", "April"),
    _("May"), pgettext_lazy("alt. month", "May"), pgettext_lazy("abbrev. month", "May"),
    _("June"), pgettext_lazy("alt. month", "June"), pgettext_lazy("abbrev. month", "June"),
    _("July"), pgettext_lazy("alt. month", "July"), pgettext_lazy("abbrev. month", "July"),
    _("August"), pgettext_lazy("alt. month", "August"), pgettext_lazy("abbrev. month", "Aug."),
    _("September"), pgettext_lazy("alt. month", "September"), pgettext_lazy("abbrev. month", "Sept."),
    _("October"), pgettext_lazy("alt. month", "October"), pgettext_lazy("abbrev. month", "Oct."),
    _("November"), pgettext_lazy("alt. month", "November"), pgettext_lazy("abbrev. month", "Nov."),
    _("December"), pgettext_lazy("alt. month", "December"), pgettext_lazy("abbrev. month", "Dec."),
)


class AssinaAdminSite(admin.AdminSite):
    site_header = "Assina"
    site_title = "Assina"
    # Lists get the whole width of a 1366 px screen; the index and breadcrumbs lead everywhere.
    enable_nav_sidebar = False

    def get_app_list(self, request, app_label=None):
        app_list = super().get_app_list(request, app_label)
        # One app's own page (/admin/<app>/) stays as Django lays it out.
        return app_list if app_label else grouped(app_list)


# Whether Django's admin imports every app's admin module when Django starts. The command line
# never shows the admin and sets this to False (``assina.cli``): the admin modules and what they
# import are about a second of each command's start. The web app imports them with its URLs
# (``assina.urls`` calls ``admin.autodiscover()``), so its pages are the same either way.
DISCOVER = True


class AdminConfig(DjangoAdminConfig):
    default_site = "assina.admin_site.AssinaAdminSite"

    def ready(self):
        if DISCOVER:
            super().ready()
        else:
            super(DjangoAdminConfig, self).ready()  # the admin's checks, without autodiscover
