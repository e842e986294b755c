"""Exchange rates the operator sets for reporting MRR of several currencies in one."""

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class ExchangeRate(models.Model):
    """From ``valid_from`` on, one unit of ``currency`` is worth ``rate`` units of the reporting
    currency. A change of MRR is converted at the rate in force on its day and keeps that value
    (as ChartMogul does), so a new rate never creates movements of its own."""

    currency = models.CharField(_("currency"), max_length=3, help_text=_("ISO 4217 code, e.g. USD"))
    rate = models.DecimalField(_("rate"), max_digits=18, decimal_places=8, validators=[MinValueValidator(0)],
                               help_text=_("units of the reporting currency for one unit of this currency"))
    valid_from = models.DateField(_("valid from"))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "valid_from"], name="exchange_rate_unique_day"),
            models.CheckConstraint(condition=models.Q(rate__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.rate} ({self.valid_from})"

    def clean(self) -> None:
        from django.conf import settings
        from django.core.exceptions import ValidationError

        from assina.core.errors import UnknownCurrency
        from assina.core.money import normalize_currency

        try:
            self.currency = normalize_currency(self.currency or "")
        except UnknownCurrency:
            raise ValidationError({"currency": _("%(code)s is not an ISO 4217 currency code") % {"code": repr(self.currency)}}) from None
        if self.currency == settings.ASSINA_REPORTING_CURRENCY:
            raise ValidationError({"currency": _("this is the reporting currency: it needs no rate")})


class Dashboard(models.Model):
    """No table: the home of the ``analytics.view_dashboard`` permission, which the revenue
    dashboard and its CSV exports require (a staff account sees them only when granted it;
    superusers have every permission)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_dashboard", _("Can view the revenue dashboard and its CSV exports"))]
        verbose_name = _("revenue dashboard")
        verbose_name_plural = _("revenue dashboard")
