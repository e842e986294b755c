"""``assina simulate``: a synthetic small business driven through the real services.

A seeded random walk over the last months of a Brazilian SaaS (sign-ups, trials, coupons,
plan and seat changes, second locations, cancellations with reasons, win-backs, pauses, failed cards
and their fixes), replayed on a
fresh sandbox database under the test clock, so the admin, reports and analytics have
realistic history to show. Nothing here writes a model: every step calls a service.

The use case is ``assina.simulation.runner.simulate``. This package imports nothing at its top:
the child process that sends the mail (``follower_child``) is started before Django is set
up, and importing the package must not load the models.
"""
