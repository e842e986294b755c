"""Lifetime value forecasts: pure maths over NumPy/SciPy (no Django).

``sbg``: the shifted-beta-geometric model of contractual retention (Fader & Hardie 2007):
survivors per period, retention rates, residual lifetime and its discounted value.
``bgnbd``: the BG/NBD model of repeat purchases (Fader, Hardie & Lee 2005).
``gamma_gamma``: the Gamma-Gamma model of order values (Fader, Hardie & Lee 2005; Fader &
Hardie 2013). ``clv``: the value of a customer from the two.
Each fit is maximum likelihood on the log of the parameters, with standard errors from the
Hessian and the log-likelihood: BG/NBD and Gamma-Gamma by Newton's method with their analytic
gradient and Hessian (one pass over the customers per step), sBG by SciPy's BFGS with its
analytic gradient.
"""
