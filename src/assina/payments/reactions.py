"""How payments follows the facts that invoices states (``assina.dispatch``), registered at
start-up by ``PaymentsConfig.ready``."""

from __future__ import annotations

from django.utils.translation import gettext as _

from assina.dispatch import on
from assina.invoices.events import InvoiceChanging
from assina.invoices.services import InvoiceError

from .models import PaymentAttempt


def refuse_while_collecting(fact: InvoiceChanging) -> None:
    """A pending attempt may already have charged the card (a crash hides its answer): the
    invoice must not change under it until the attempt is reconciled."""
    invoice = fact.invoice
    if PaymentAttempt.objects.filter(invoice_id=invoice.pk, status=PaymentAttempt.Status.PENDING).exists():
        raise InvoiceError(_("a payment of invoice %(invoice)s is in progress; try again when it is settled")
                           % {"invoice": invoice})


def register() -> None:
    on(InvoiceChanging, refuse_while_collecting)
