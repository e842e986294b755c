"""The customer portal: a customer signs in with a signed, single-use link and sees their
subscription, invoices and card (docs/portal.md).

It sits in the retention layer (beside ``analytics`` and ``privacy``): it reads customers,
subscriptions, invoices and payments and mails through ``notifications``; no lower app imports it.
"""
