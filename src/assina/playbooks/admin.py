"""The owner's playbooks: create and edit them (trigger, threshold, actions, period), run them now,
see each one's outcome against its comparison group; the runs are read-only (only the service
writes them)."""

from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from assina.admin_actions import ReadOnlyAdmin
from assina.time import now

from .models import Playbook, PlaybookOffer, PlaybookRun
from .outcomes import playbook_report
from .services import run_playbook


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    list_display = ("name", "trigger", "threshold", "period_days", "active", "run_count", "checked_at")
    list_filter = ("trigger", "active")
    fields = ("name", "trigger", "threshold", "milestone", "period_days", "email_campaign", "coupon", "offer_days",
              "task_title", "task_due_days", "call_webhook", "active", "outcome", "created_at", "checked_at")
    readonly_fields = ("outcome", "created_at", "checked_at")
    actions = ("run_now",)

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_at = now()
        super().save_model(request, obj, form, change)

    @admin.display(description=_("runs"))
    def run_count(self, obj):
        return obj.runs.count()

    @admin.display(description=_("outcome"))
    def outcome(self, obj):
        if obj.pk is None:
            return "-"
        report = playbook_report(obj, now())
        rows = []
        for days in (30, 90):
            ours, theirs = report[f"after_{days}_days"], report["comparison"][f"after_{days}_days"]
            rows.append((_("still subscribed after %(days)d days") % {"days": days},
                         _rate(ours), _rate(theirs)))
        offers = report["offers"]
        if offers["made"]:
            rows.append((_("coupon offers accepted in the portal"),
                         _("%(accepted)d of %(made)d (%(declined)d declined, %(expired)d expired, %(open)d open)") % offers,
                         "-"))
        header = (_("measure"), _("customers it ran for"), _("customers before the playbook (nothing done)"))
        return format_html("<table>{}</table>", format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                                                                  [header, *rows]))

    @admin.action(description=_("Run the selected playbooks now"))
    def run_now(self, request, queryset):
        fired = sum(run_playbook(pk, now())["fired"] for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, ngettext("%(count)d customer: the playbook ran.", "%(count)d customers: the playbooks ran.",
                                            fired) % {"count": fired}, messages.SUCCESS)


def _rate(part: dict) -> str:
    if not part["measured"]:
        return str(_("not yet measurable"))
    return f"{part['still_subscribed']} / {part['measured']} ({part['rate']:.0%})"


@admin.register(PlaybookRun)
class PlaybookRunAdmin(ReadOnlyAdmin):
    list_display = ("playbook", "customer", "fired_at")
    list_filter = ("playbook",)
    fields = ("playbook", "customer", "fired_at", "reason", "actions")
    list_select_related = ("playbook", "customer")


@admin.register(PlaybookOffer)
class PlaybookOfferAdmin(ReadOnlyAdmin):
    """The coupons playbooks offered in the portal, and what each customer did with theirs."""

    list_display = ("run", "customer", "coupon", "created_at", "expires_at", "answer")
    list_filter = ("run__playbook",)
    fields = ("run", "customer", "subscription", "coupon", "created_at", "expires_at", "accepted_at", "declined_at")
    list_select_related = ("run__playbook", "customer", "coupon")

    @admin.display(description=_("answer"))
    def answer(self, obj):
        return {"accepted": _("accepted"), "declined": _("declined"), "expired": _("expired"),
                "open": _("open")}[obj.state(now())]
