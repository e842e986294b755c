"""Personal data (LGPD/GDPR): export everything held about a customer, and erase (anonymise) it.

It sits above the billing and delivery apps (pyproject's layers: beside ``analytics``) because
an erasure touches customers, payments (cards detached at the gateway), notifications (message
bodies, consent) and the event log in one use case; the lower apps never import it. The money
records stay as they are: invoices keep their numbers, amounts and lines, and ``assina check``
stays clean. docs/privacy.md says what is kept and why.
"""
