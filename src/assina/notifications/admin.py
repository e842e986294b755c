"""Admin for customer messages: the outbox (also shown on each customer), editable templates
with preview and test send, segments, campaigns (preview per recipient, send now or schedule,
counts) and marketing consent.

The custom pages check the model permissions themselves (``admin_view`` only checks staff):
a template's preview needs the view permission, its test send and a campaign's preview (real
recipients' data) the change permission."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from assina import csp
from assina.time import now as clock_now
from assina.core.errors import DomainError
from assina.customers.models import Customer
from assina.i18n import localized_message

from . import campaigns as campaign_services
from .catalog import MESSAGES, kind_of, sample_context
from .models import Campaign, MarketingConsent, Message, MessageTemplate, Segment
from .outbox import Draft, queue, test_context
from .rendering import CompiledTemplate, Source, TemplateError, default_source, validate, wrap
from .segments import customers_of
from .template_store import sync_templates


# --- outbox -----------------------------------------------------------------------------------

def allow_email_styles(request) -> None:
    """A message's HTML, shown in a sandboxed srcdoc iframe, inherits the page's CSP: its inline
    styles (written for mail clients) are allowed on preview pages; scripts stay blocked."""
    csp.add(request, "style-src", "'unsafe-inline'")


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "due_at", "to_email", "subject", "template", "locale", "status", "attempts", "sent_at", "short_response")
    list_filter = ("status", "kind", "template", "locale", "campaign")
    search_fields = ("to_email", "subject", "key", "message_id")
    date_hierarchy = "due_at"
    list_select_related = ("customer",)
    readonly_fields = ("key", "customer", "to_email", "template", "kind", "locale", "subject", "html_preview", "text",
                       "campaign", "event_id", "status", "attempts", "due_at", "next_attempt_at", "sent_at",
                       "provider_response", "message_id", "unsubscribe_url", "created_at")
    exclude = ("html", "claimed_until")
    actions = ("retry_now",)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("provider response"))
    def short_response(self, obj):
        return obj.provider_response[:80]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        allow_email_styles(request)
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=gettext_lazy("HTML"))
    def html_preview(self, obj):
        return format_html('<iframe sandbox srcdoc="{}" style="width:100%;height:520px;border:1px solid #ccc;"></iframe>', obj.html)

    @admin.action(description=gettext_lazy("Try to send again now"), permissions=["change"])
    def retry_now(self, request, queryset):
        count = queryset.filter(status__in=(Message.Status.FAILED, Message.Status.QUEUED)).update(
            status=Message.Status.QUEUED, next_attempt_at=clock_now())
        self.message_user(request, _("%(count)d message(s) will be sent at the next worker pass.") % {"count": count})


class CustomerMessageInline(admin.TabularInline):
    """Every message sent (or queued) to the customer, on the customer's page."""

    model = Message
    fk_name = "customer"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("due_at", "template", "subject", "status", "sent_at", "provider_response")
    readonly_fields = fields
    ordering = ("-due_at", "-id")
    verbose_name_plural = gettext_lazy("messages sent to this customer")

    def has_add_permission(self, request, obj=None):
        return False


class ConsentInline(admin.StackedInline):
    model = MarketingConsent
    extra = 0
    can_delete = False
    fields = ("status", "source", "campaign", "changed_at")
    readonly_fields = ("source", "campaign", "changed_at")

    def has_add_permission(self, request, obj=None):
        return False


def _attach_to_customer_admin() -> None:
    """Show messages on the customer page without editing the customers app: add our inlines
    to its registered ModelAdmin (inlines are read per request from the instance)."""
    customer_admin = admin.site._registry.get(Customer)
    if customer_admin is None:
        return
    extra = [inline for inline in (CustomerMessageInline, ConsentInline) if inline not in customer_admin.inlines]
    customer_admin.inlines = [*customer_admin.inlines, *extra]


_attach_to_customer_admin()


# --- templates ----------------------------------------------------------------------------------

class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ("subject", "html", "text")
        widgets = {"html": forms.Textarea(attrs={"rows": 24, "cols": 110, "style": "font-family:monospace"}),
                   "text": forms.Textarea(attrs={"rows": 12, "cols": 110, "style": "font-family:monospace"})}

    def clean(self):
        data = super().clean()
        try:
            validate(self.instance.key, Source(data.get("subject", ""), data.get("html", ""), data.get("text", "")))
        except TemplateError as exc:
            raise ValidationError({exc.part if exc.part in ("subject", "html", "text") else "html": str(exc)}) from None
        return data


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ("key", "label", "locale", "kind", "subject", "is_default", "updated_at")
    list_filter = ("locale", "is_default")
    readonly_fields = ("key", "locale", "variables")
    actions = ("reset_to_default",)
    change_form_template = "admin/notifications/messagetemplate/change_form.html"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        return ("key", "locale", "subject", "html", "text", "variables")

    @admin.display(description=gettext_lazy("message"))
    def label(self, obj):
        spec = MESSAGES.get(obj.key)
        return spec.label if spec else obj.key

    @admin.display(description=gettext_lazy("kind"))
    def kind(self, obj):
        return kind_of(obj.key)

    @admin.display(description=gettext_lazy("variables you can use"))
    def variables(self, obj):
        return format_html("<pre>{}</pre>", _describe(sample_context(obj.key)))

    def changelist_view(self, request, extra_context=None):
        sync_templates()
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        obj.is_default = False
        obj.updated_at = clock_now()
        super().save_model(request, obj, form, change)

    @admin.action(description=gettext_lazy("Reset to the shipped template"), permissions=["change"])
    def reset_to_default(self, request, queryset):
        for row in queryset:
            source = default_source(row.key, row.locale)
            row.subject, row.html, row.text, row.is_default = source.subject, source.html, source.text, True
            row.save(update_fields=["subject", "html", "text", "is_default"])
        self.message_user(request, _("%(count)d template(s) reset.") % {"count": queryset.count()})

    def get_urls(self):
        return [
            path("<int:pk>/preview/", self.admin_site.admin_view(self.preview_view), name="notifications_messagetemplate_preview"),
            path("<int:pk>/test-send/", self.admin_site.admin_view(self.test_send_view), name="notifications_messagetemplate_test_send"),
        ] + super().get_urls()

    def preview_view(self, request, pk: int):
        row = get_object_or_404(MessageTemplate, pk=pk)
        if not self.has_view_permission(request, row):
            raise PermissionDenied
        rendered = CompiledTemplate(Source(row.subject, row.html, row.text)).render(test_context(row.key, row.locale))
        html, text = wrap(rendered, row.locale, marketing=kind_of(row.key) == "marketing", unsubscribe_url="https://example.com/unsubscribe")
        allow_email_styles(request)
        return TemplateResponse(request, "admin/notifications/preview.html", {
            **self.admin_site.each_context(request), "title": _("Preview: %(name)s") % {"name": row},
            "subject": rendered.subject, "html": html, "text": text, "opts": self.model._meta, "original": row})

    def test_send_view(self, request, pk: int):
        row = get_object_or_404(MessageTemplate, pk=pk)
        if not self.has_change_permission(request, row):
            raise PermissionDenied  # it sends mail: a right to edit templates, not only to read them
        to = (request.POST.get("to") or request.user.email or "").strip() if request.method == "POST" else ""
        if request.method == "POST":
            context = test_context(row.key, row.locale)
            draft = Draft(key=f"test:{uuid.uuid4().hex}", template=row.key, customer=None, due_at=clock_now(), context=context,
                          to_email=to, locale=row.locale, kind=Message.Kind.TEST)
            queue([draft], clock_now())
            message = Message.objects.get(key=draft.key)
            if message.status == Message.Status.INVALID:
                self.message_user(request, message.provider_response, level=messages.ERROR)
            else:
                self.message_user(request, _("Test message queued for %(email)s; the worker sends it within seconds.") % {"email": to})
                return redirect(reverse("admin:notifications_message_change", args=[message.pk]))
        return redirect(reverse("admin:notifications_messagetemplate_change", args=[row.pk]))


def _describe(context: dict, prefix: str = "") -> str:
    lines = []
    for name, value in context.items():
        if isinstance(value, dict):
            lines.append(_describe(value, f"{prefix}{name}."))
        elif isinstance(value, list):
            inner = value[0] if value and isinstance(value[0], dict) else {}
            lines.append("{%% for item in %s%s %%} " % (prefix, name) + ", ".join(f"{{{{ item.{k} }}}}" for k in inner) + " {% endfor %}")
        else:
            lines.append(f"{{{{ {prefix}{name} }}}}   ({value})")
    return "\n".join(lines)


# --- consent, segments, campaigns ---------------------------------------------------------------

@admin.register(MarketingConsent)
class MarketingConsentAdmin(admin.ModelAdmin):
    list_display = ("customer", "status", "source", "campaign", "changed_at")
    list_filter = ("status", "source")
    search_fields = ("customer__email",)
    raw_id_fields = ("customer",)

    def save_model(self, request, obj, form, change):
        obj.changed_at = clock_now()
        obj.source = obj.source or "admin"
        super().save_model(request, obj, form, change)


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    list_display = ("name", "customer_count", "created_at")
    readonly_fields = ("created_at", "customer_count")
    fields = ("name", "plans", "statuses", "countries", "locales", "min_tenure_days", "max_tenure_days",
              "min_mrr", "max_mrr", "active_within_days", "inactive_for_days", "health_bands", "min_churn_risk",
              "max_churn_risk", "nps_categories", "customer_count", "created_at")

    @admin.display(description=gettext_lazy("customers now"))
    def customer_count(self, obj):
        return customers_of(obj, clock_now()).count() if obj.pk else "-"

    def save_model(self, request, obj, form, change):
        if not obj.created_at:
            obj.created_at = clock_now()
        super().save_model(request, obj, form, change)


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ("name", "segment", "subject_en", "html_en", "text_en", "subject_pt_br", "html_pt_br", "text_pt_br", "scheduled_at")

    def clean(self):
        data = super().clean()
        probe = Campaign(**{k: data.get(k) or "" for k in ("subject_en", "html_en", "text_en", "subject_pt_br", "html_pt_br", "text_pt_br")})
        try:
            campaign_services.validate_campaign(probe)
        except TemplateError as exc:
            raise ValidationError(str(exc)) from None
        if self.instance.pk and self.instance.status == Campaign.Status.QUEUED:
            raise ValidationError(_("a campaign that was sent cannot be changed"))
        return data


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = ("name", "segment", "status", "scheduled_at", "queued_at", "recipients", "sent", "failed", "suppressed",
                    "unsubscribed", "preview_link")
    list_filter = ("status",)
    actions = ("send_now", "schedule")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("segment")

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        # The preview renders real recipients' data: offered only to who may change campaigns.
        return shown if self.has_change_permission(request) else tuple(f for f in shown if f != "preview_link")

    def _count(self, obj, *statuses):
        stats = getattr(obj, "_message_stats", None)
        if stats is None:  # once per row (the columns share it)
            stats = obj._message_stats = campaign_services.stats([obj.pk])[obj.pk]
        return sum(stats.get(s, 0) for s in statuses)

    @admin.display(description=gettext_lazy("sent"))
    def sent(self, obj):
        return self._count(obj, Message.Status.SENT)

    @admin.display(description=gettext_lazy("failed"))
    def failed(self, obj):
        return self._count(obj, Message.Status.FAILED, Message.Status.INVALID)

    @admin.display(description=gettext_lazy("suppressed"))
    def suppressed(self, obj):
        return self._count(obj, Message.Status.SUPPRESSED)

    @admin.display(description=gettext_lazy("unsubscribes"))
    def unsubscribed(self, obj):
        return self._count(obj, "unsubscribed")

    @admin.display(description=gettext_lazy("preview"))
    def preview_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:notifications_campaign_preview", args=[obj.pk]), _("Preview"))

    def save_model(self, request, obj, form, change):
        if not obj.created_at:
            obj.created_at = clock_now()
        super().save_model(request, obj, form, change)

    @admin.action(description=gettext_lazy("Send now"), permissions=["change"])
    def send_now(self, request, queryset):
        for campaign in queryset:
            try:
                counts = campaign_services.send_now(campaign.pk, clock_now())
            except (DomainError, TemplateError) as exc:
                self.message_user(request, f"{campaign}: {localized_message(exc)}", level=messages.ERROR)
            else:
                self.message_user(request, _("%(name)s: %(count)d message(s) queued.") % {"name": campaign, "count": counts["recipients"]})

    @admin.action(description=gettext_lazy("Schedule at the time set on the campaign"), permissions=["change"])
    def schedule(self, request, queryset):
        for campaign in queryset:
            if not campaign.scheduled_at:
                self.message_user(request, _("%(name)s: set the time to send it first.") % {"name": campaign}, level=messages.ERROR)
                continue
            try:
                campaign_services.schedule(campaign.pk, campaign.scheduled_at)
            except (DomainError, TemplateError) as exc:
                self.message_user(request, f"{campaign}: {localized_message(exc)}", level=messages.ERROR)
            else:
                self.message_user(request, _("%(name)s: scheduled.") % {"name": campaign})

    def get_urls(self):
        return [path("<int:pk>/preview/", self.admin_site.admin_view(self.preview_view), name="notifications_campaign_preview")] \
            + super().get_urls()

    def preview_view(self, request, pk: int):
        campaign = get_object_or_404(Campaign.objects.select_related("segment"), pk=pk)
        if not self.has_change_permission(request, campaign):
            raise PermissionDenied
        audience = customers_of(campaign.segment, clock_now())
        chosen = request.GET.get("customer")
        customer = (audience.filter(pk=chosen).first() if chosen and chosen.isdigit() else None) or audience.first()
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "original": campaign,
                   "title": _("Preview: %(name)s") % {"name": campaign}, "audience": audience[:200],
                   "audience_count": audience.count(), "customer": customer, "campaign_preview": True}
        if customer is not None:
            try:
                context.update(campaign_services.preview(campaign, customer))
            except TemplateError as exc:
                context["error"] = str(exc)
        allow_email_styles(request)
        return TemplateResponse(request, "admin/notifications/preview.html", context)
