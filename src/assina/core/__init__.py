"""Assina's pure billing domain: money, periods, pricing, discounts, proration,
invoice generation and state machines.

Imports only the standard library and ``dateutil`` so it can be tested without a
database and reused by every Django app. Import the submodules you need directly
(``from assina.core.money import Money``); nothing is re-exported here so that
importing the package stays cheap.
"""
