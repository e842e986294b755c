"""The portal's answers to a playbook's offer card (``portal.views.cards.offer``): accept it or
say no thanks (``/portal/offers/<id>/accept/`` and ``.../decline/``).

They run inside a portal session (``portal.views.portal_session``): only the session's customer's
own offers can be answered (another customer's id is a 404). Only POST, through Django's CSRF
check. Each returns to the home: after accepting, with the confirmation on screen; a refusal
(the offer ended, the discount could not go on) is shown on its own page, nothing changed.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from assina.notifications.rendering import django_language
from assina.portal.views import portal_session, refused as refused_page
from assina.subscriptions.models import Subscription

from . import services


@never_cache
@require_POST
@portal_session
def accept(request, offer_id: int):
    customer = request.portal.customer
    language = django_language(customer.locale)
    with translation.override(language):
        try:
            offer = services.accept_offer(customer.pk, offer_id)
        except services.OfferNotFound:
            raise Http404 from None
        except services.OfferError as refused:
            return refused_page(request, language, str(refused), status=409)
        sub = Subscription.objects.select_related("plan").get(pk=offer.subscription_id)
        words = services.accepted_words(offer, sub)
        messages.success(request, _("Done: %(discount)s on your %(plan)s subscription, from your invoice of %(date)s. "
                                    "We have sent you a confirmation by e-mail.")
                         % {"discount": words["discount"], "plan": words["plan"], "date": words["starts_on"]})
    return redirect("/portal/")


@never_cache
@require_POST
@portal_session
def decline(request, offer_id: int):
    try:
        services.decline_offer(request.portal.customer.pk, offer_id)
    except services.OfferNotFound:
        raise Http404 from None
    return redirect("/portal/")
