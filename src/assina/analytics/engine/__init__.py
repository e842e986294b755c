"""The metrics engine: pure NumPy over a table of subscription MRR changes (no Django here).

``table`` holds the change table and its filters, ``movements`` turns it into customer-level
MRR movements and monthly series, ``retention`` the churn and retention rates, ``cohorts`` the
cohort tables, ``breakdown`` MRR by plan/interval at a date, ``funnel`` trials and
cancellations, ``dunning`` payment recovery, ``report`` puts them together.
"""
