"""Django settings, read from ASSINA_* environment variables.

One database is one mode: a sandbox database (default) has a movable test clock and the
sandbox payment gateway; a live database refuses clock moves.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent

ASSINA_MODE = os.environ.get("ASSINA_MODE", "sandbox").strip().lower()
if ASSINA_MODE not in ("sandbox", "live"):
    raise ImproperlyConfigured("ASSINA_MODE must be 'sandbox' or 'live'")

SECRET_KEY = os.environ.get("ASSINA_SECRET_KEY", "")
if not SECRET_KEY:
    if ASSINA_MODE == "live":
        raise ImproperlyConfigured("ASSINA_SECRET_KEY is required in live mode")
    # A fixed key is acceptable only for sandbox databases on a developer machine (their
    # customer links are signed with the database's own random key: assina.clock.installation).
    SECRET_KEY = "assina-sandbox-insecure-key-do-not-use-in-live-mode"

DEBUG = os.environ.get("ASSINA_DEBUG", "0") == "1"
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ASSINA_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h.strip()]

ASSINA_DEFAULT_CURRENCY = os.environ.get("ASSINA_DEFAULT_CURRENCY", "BRL").strip().upper()
TIME_ZONE = os.environ.get("ASSINA_TIME_ZONE", "UTC").strip()
USE_TZ = True

DATABASE_URL = os.environ.get("ASSINA_DATABASE_URL", "sqlite:///assina.sqlite3")


def _database(url: str) -> dict:
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        # Relative SQLite paths are relative to the working directory, as the README says.
        url = "sqlite:///" + str(Path.cwd() / url[len("sqlite:///"):])
    config = dj_database_url.parse(url, conn_max_age=0)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # Django's SQLite backend whose write transactions queue on a file lock (its docstring).
        config["ENGINE"] = "assina.sqlite_backend"
        config["OPTIONS"] = {
            # WAL lets readers work while the worker writes; IMMEDIATE takes the write lock at
            # BEGIN so two writers queue instead of failing with "database is locked" mid-way.
            # temp_store/cache_size/mmap_size: a batch insert's statement journal stays in memory
            # and a connection keeps its pages when another process commits (usage ingestion).
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; "
                            "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-32000; PRAGMA mmap_size=268435456; "
                            "PRAGMA wal_autocheckpoint=10000;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
        # ":memory:" by name: pytest-django recognises an in-memory test database only so (or by the stock engine).
        config["TEST"] = {"NAME": os.environ.get("ASSINA_TEST_SQLITE_NAME") or ":memory:"}
    elif config["ENGINE"] == "django.db.backends.postgresql":
        config.setdefault("OPTIONS", {})
    return config


DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    # Django's admin with the index grouped for an owner (assina.admin_site).
    "assina.admin_site.AdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "assina.events",
    "assina.clock",
    "assina.customers",
    "assina.catalog",
    "assina.subscriptions",
    "assina.invoices",
    "assina.payments",
    "assina.usage",
    "assina.api",
    "assina.webhooks",
    "assina.notifications",
    "assina.analytics",
    "assina.accounts",
    # The customer portal (issue 16, assina.portal).
    "assina.portal",
    # Cancel flows and offers, annual switches and temporary upgrades (issue 16); surveys and pain points (issue 17).
    "assina.retention",
    "assina.upgrades",
    "assina.feedback",
    # Selling: the pricing page and checkout; price increases with a choice (issue 19).
    "assina.selling",
    "assina.repricing",
    # Customer success (issue 20): engagement data, history import, health and churn risk,
    # playbooks and the owner's customer workspace.
    "assina.engagement",
    "assina.imports",
    "assina.success",
    "assina.playbooks",
    "assina.workspace",
]

MIDDLEWARE = [
    # First, so that every HTML page (the API docs under /api/v1/ too) gets its
    # Content-Security-Policy (see assina.csp).
    "assina.csp.CspMiddleware",
    # /api/v1/ requests take a short chain of their own (no sessions, CSRF, auth, messages):
    # see assina.api.guard.ApiMiddleware. Everything else goes through the list below.
    "assina.api.guard.ApiMiddleware",
    # Pages answer 503 while ASSINA_MODE is not the database's mode (assina.clock.middleware).
    "assina.clock.middleware.ModeAgreementMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "assina.urls"
WSGI_APPLICATION = "assina.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "assina.context_processors.assina",
            ]
        },
    }
]

LANGUAGES = [("en", _("English")), ("pt-br", _("Brazilian Portuguese"))]
# The language of the CLI, and of the admin when the browser asks for none of LANGUAGES.
LANGUAGE_CODE = os.environ.get("ASSINA_LANGUAGE", "en").strip().lower().replace("_", "-")
if LANGUAGE_CODE not in {code for code, _name in LANGUAGES}:
    raise ImproperlyConfigured("ASSINA_LANGUAGE must be 'en' or 'pt-br'")
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True

STATIC_URL = "/static/"
# Static files are served from the installed packages (no collectstatic step on one machine);
# set ASSINA_STATIC_ROOT to collect them for a front web server.
STATIC_ROOT = os.environ.get("ASSINA_STATIC_ROOT") or None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve static files straight from the installed packages: no collectstatic step on one machine.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "/admin/login/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("ASSINA_LOG_LEVEL", "WARNING")},
}

# Each app's settings below, in its own block (ASSINA_* environment variables, documented in
# the README's configuration table).

# --- payments and dunning (assina.payments) ---
ASSINA_GATEWAY = os.environ.get("ASSINA_GATEWAY", "sandbox").strip().lower()
if ASSINA_GATEWAY not in ("sandbox", "stripe"):
    raise ImproperlyConfigured("ASSINA_GATEWAY must be 'sandbox' or 'stripe'")
ASSINA_STRIPE_API_KEY = os.environ.get("ASSINA_STRIPE_API_KEY", "").strip()
if ASSINA_GATEWAY == "stripe" and not ASSINA_STRIPE_API_KEY:
    raise ImproperlyConfigured("ASSINA_STRIPE_API_KEY is required with ASSINA_GATEWAY=stripe")
# Another Stripe-compatible server (e.g. localstripe in tests); empty: Stripe itself.
ASSINA_STRIPE_API_BASE = os.environ.get("ASSINA_STRIPE_API_BASE", "").strip()
# Cards are typed into Stripe.js on the customer's card page (a SetupIntent): its publishable key
# and script (localstripe serves a fake one at <its address>/js.stripe.com/v3/ for tests).
ASSINA_STRIPE_PUBLISHABLE_KEY = os.environ.get("ASSINA_STRIPE_PUBLISHABLE_KEY", "").strip()
ASSINA_STRIPE_JS_URL = os.environ.get("ASSINA_STRIPE_JS_URL", "").strip() or "https://js.stripe.com/v3/"
if ASSINA_GATEWAY == "stripe" and not ASSINA_STRIPE_PUBLISHABLE_KEY.startswith("pk_"):
    raise ImproperlyConfigured("ASSINA_STRIPE_PUBLISHABLE_KEY (pk_...) is required with ASSINA_GATEWAY=stripe: "
                               "customers add cards on the card page through Stripe.js")
# Dunning defaults, used until the policy is edited in the admin.
ASSINA_DUNNING_RETRY_DAYS = os.environ.get("ASSINA_DUNNING_RETRY_DAYS", "1,3,5,7,10,14")
ASSINA_DUNNING_GRACE_DAYS = os.environ.get("ASSINA_DUNNING_GRACE_DAYS", "7")
ASSINA_DUNNING_FINAL_ACTION = os.environ.get("ASSINA_DUNNING_FINAL_ACTION", "cancel").strip().lower()
ASSINA_DUNNING_HARD_CODES = os.environ.get(
    "ASSINA_DUNNING_HARD_CODES",
    "lost_card,stolen_card,fraudulent,pickup_card,restricted_card,do_not_honor,do_not_try_again,"
    "invalid_account,new_account_information_available,expired_card,incorrect_number,invalid_payment_method,"
    "no_payment_method")
ASSINA_DUNNING_SOFT_CODES = os.environ.get(
    "ASSINA_DUNNING_SOFT_CODES",
    "insufficient_funds,processing_error,card_declined,generic_decline,try_again_later,"
    "card_velocity_exceeded,withdrawal_count_limit_exceeded,incorrect_cvc,issuer_not_available,"
    "reenter_transaction,approve_with_id")
ASSINA_EXPIRING_CARD_DAYS = os.environ.get("ASSINA_EXPIRING_CARD_DAYS", "30")

# --- bounded catch-up (assina.subscriptions, docs/billing.md "Catch-up") ---
# A subscription's start may lie at most one billing period in the past; a whole number of
# days here replaces that rule (e.g. to import subscriptions that began long ago).
_backdate = os.environ.get("ASSINA_MAX_BACKDATE_DAYS", "").strip()
if _backdate and not (_backdate.isdigit() and int(_backdate) <= 36600):
    raise ImproperlyConfigured("ASSINA_MAX_BACKDATE_DAYS must be a whole number of days (0 to 36600) or empty")
ASSINA_MAX_BACKDATE_DAYS = int(_backdate) if _backdate else None
# Periods one subscription may be billed for in one catch-up (a worker back from downtime);
# more than that and it is held for the operator. The sandbox test clock is not capped.
_catchup = os.environ.get("ASSINA_MAX_CATCHUP_PERIODS", "3").strip()
if not (_catchup.isdigit() and 1 <= int(_catchup) <= 1000):
    raise ImproperlyConfigured("ASSINA_MAX_CATCHUP_PERIODS must be a whole number from 1 to 1000")
ASSINA_MAX_CATCHUP_PERIODS = int(_catchup)

# --- API, usage events and webhooks (assina.api, assina.usage, assina.webhooks) ---
# Requests per second each API key may make (0: no limit) and its burst; shared by all web
# processes through the database (see assina/api/ratelimit.py).
ASSINA_API_RATE_LIMIT = float(os.environ.get("ASSINA_API_RATE_LIMIT", "100"))
ASSINA_API_RATE_BURST = float(os.environ.get("ASSINA_API_RATE_BURST", "0"))  # 0: twice the rate
# How long a POST's first response is replayed for the same Idempotency-Key, and after how long
# a request still "in flight" (its process died) frees its key.
ASSINA_API_IDEMPOTENCY_HOURS = float(os.environ.get("ASSINA_API_IDEMPOTENCY_HOURS", "24"))
ASSINA_API_IDEMPOTENCY_LOCK_SECONDS = float(os.environ.get("ASSINA_API_IDEMPOTENCY_LOCK_SECONDS", "300"))
# PostgreSQL: the API's hot fixed statements run prepared (planned once per connection). Off
# behind a pooler that does not keep prepared statements (see assina.db.fetch_prepared).
ASSINA_API_PREPARED_STATEMENTS = os.environ.get("ASSINA_API_PREPARED_STATEMENTS", "1") != "0"
# Usage events: the most events per batch, and how far past the clock an event's timestamp may be.
ASSINA_USAGE_MAX_BATCH = int(os.environ.get("ASSINA_USAGE_MAX_BATCH", "1000"))
ASSINA_USAGE_FUTURE_TOLERANCE = int(os.environ.get("ASSINA_USAGE_FUTURE_TOLERANCE", "3600"))  # seconds
# Webhooks: timeouts of each attempt (seconds), days of failures after which an endpoint is
# disabled, attempts per worker pass, when a "sending" claim of a dead worker expires, and how far
# back (wall-clock seconds) the fan-out looks for events whose transaction committed late.
ASSINA_WEBHOOK_CONNECT_TIMEOUT = float(os.environ.get("ASSINA_WEBHOOK_CONNECT_TIMEOUT", "5"))
ASSINA_WEBHOOK_READ_TIMEOUT = float(os.environ.get("ASSINA_WEBHOOK_READ_TIMEOUT", "15"))
ASSINA_WEBHOOK_DISABLE_AFTER_DAYS = int(os.environ.get("ASSINA_WEBHOOK_DISABLE_AFTER_DAYS", "5"))
ASSINA_WEBHOOK_ATTEMPTS_PER_RUN = int(os.environ.get("ASSINA_WEBHOOK_ATTEMPTS_PER_RUN", "1000"))
ASSINA_WEBHOOK_CLAIM_TIMEOUT = int(os.environ.get("ASSINA_WEBHOOK_CLAIM_TIMEOUT", "300"))
ASSINA_WEBHOOK_FANOUT_SAFETY_SECONDS = int(os.environ.get("ASSINA_WEBHOOK_FANOUT_SAFETY_SECONDS", "3600"))
# Webhooks reach public addresses only (issue 14, docs/webhooks.md): 1 lets endpoints on loopback and
# private networks through, for development and tests. Each attempt ends within TIMEOUT seconds
# in all; a worker pass starts no new attempt after PASS_SECONDS and sends CONCURRENCY at once.
ASSINA_WEBHOOK_ALLOW_PRIVATE = os.environ.get("ASSINA_WEBHOOK_ALLOW_PRIVATE", "0").strip() == "1"
ASSINA_WEBHOOK_TIMEOUT = float(os.environ.get("ASSINA_WEBHOOK_TIMEOUT", "20"))
ASSINA_WEBHOOK_PASS_SECONDS = float(os.environ.get("ASSINA_WEBHOOK_PASS_SECONDS", "30"))
ASSINA_WEBHOOK_CONCURRENCY = int(os.environ.get("ASSINA_WEBHOOK_CONCURRENCY", "8"))

# --- customer messages (assina.notifications) ---
# Outgoing mail: "console" prints messages (development); smtp://user:pass@host:587 uses STARTTLS
# (required when a password is given); smtps://user:pass@host:465 is implicit TLS.
ASSINA_SMTP_URL = os.environ.get("ASSINA_SMTP_URL", "console").strip()
# The From of every message; by default "<business name> <no-reply@host of ASSINA_BASE_URL>".
ASSINA_EMAIL_FROM = os.environ.get("ASSINA_EMAIL_FROM", "").strip()
# --- ASSINA_EMAIL_REPLY_TO (notifications, issue 15) ---
# Where customers' replies go: the Reply-To of every message. Empty (default): nowhere, and no
# message invites a reply ("reply to this e-mail").
ASSINA_EMAIL_REPLY_TO = os.environ.get("ASSINA_EMAIL_REPLY_TO", "").strip()
if ASSINA_EMAIL_REPLY_TO and "@" not in ASSINA_EMAIL_REPLY_TO:
    raise ImproperlyConfigured("ASSINA_EMAIL_REPLY_TO must be an e-mail address (or empty)")
# --- end ASSINA_EMAIL_REPLY_TO ---
# --- ASSINA_OWNER_EMAIL (feedback, issue 17) ---
# Where mail for the owner goes (the weekly digest of rising feedback themes); empty (default):
# no such mail. ASSINA_OWNER_LOCALE: its language (en or pt-BR; default: LANGUAGE_CODE's).
ASSINA_OWNER_EMAIL = os.environ.get("ASSINA_OWNER_EMAIL", "").strip()
if ASSINA_OWNER_EMAIL and "@" not in ASSINA_OWNER_EMAIL:
    raise ImproperlyConfigured("ASSINA_OWNER_EMAIL must be an e-mail address (or empty)")
ASSINA_OWNER_LOCALE = os.environ.get("ASSINA_OWNER_LOCALE", "").strip()
# --- end ASSINA_OWNER_EMAIL ---
ASSINA_BUSINESS_NAME = os.environ.get("ASSINA_BUSINESS_NAME", "Assina").strip()
ASSINA_BUSINESS_LOGO_URL = os.environ.get("ASSINA_BUSINESS_LOGO_URL", "").strip()
ASSINA_BRAND_COLOR = os.environ.get("ASSINA_BRAND_COLOR", "#2563eb").strip()
# Links in messages (update card, reactivate, unsubscribe) point here.
ASSINA_BASE_URL = os.environ.get("ASSINA_BASE_URL", "http://127.0.0.1:8000").strip().rstrip("/")


def _days(name: str, default: str) -> list[int]:
    raw = os.environ.get(name, default)
    try:
        days = sorted({int(part) for part in raw.split(",") if part.strip()})
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a comma-separated list of days, not {raw!r}") from None
    if any(day < 0 or day > 365 for day in days):
        raise ImproperlyConfigured(f"{name}: days must be between 0 and 365")
    return days


# Welcome on day 0, then one onboarding message per further day (at most two more).
ASSINA_EMAIL_ONBOARDING_DAYS = _days("ASSINA_EMAIL_ONBOARDING_DAYS", "0,3,7")
if len(ASSINA_EMAIL_ONBOARDING_DAYS) > 3 or (ASSINA_EMAIL_ONBOARDING_DAYS and ASSINA_EMAIL_ONBOARDING_DAYS[0] != 0):
    raise ImproperlyConfigured("ASSINA_EMAIL_ONBOARDING_DAYS starts with 0 and has at most 3 days (e.g. 0,3,7)")
# The onboarding sequence stops once the customer has reached every milestone: "event:<type>"
# (an event of that type about the customer) or "usage:<metric>" ("usage:*": any usage).
ASSINA_EMAIL_ONBOARDING_MILESTONES = [m.strip() for m in os.environ.get("ASSINA_EMAIL_ONBOARDING_MILESTONES", "usage:*").split(",") if m.strip()]
ASSINA_EMAIL_TRIAL_ENDING_DAYS = _days("ASSINA_EMAIL_TRIAL_ENDING_DAYS", "3")
ASSINA_EMAIL_RENEWAL_DAYS = {
    "day": [], "week": [],
    "month": _days("ASSINA_EMAIL_RENEWAL_DAYS_MONTHLY", "3"),
    "year": _days("ASSINA_EMAIL_RENEWAL_DAYS_ANNUAL", "30,7"),
}
ASSINA_EMAIL_WINBACK_DAYS = int(os.environ.get("ASSINA_EMAIL_WINBACK_DAYS", "30"))
# A coupon or promotion code offered in the win-back message ("" = no offer, only an invitation).
ASSINA_EMAIL_WINBACK_OFFER = os.environ.get("ASSINA_EMAIL_WINBACK_OFFER", "").strip()
# Marketing messages (campaigns, win-back, value reports): "opt-out" mails customers until they
# unsubscribe; "opt-in" only those who gave consent.
ASSINA_MARKETING_CONSENT = os.environ.get("ASSINA_MARKETING_CONSENT", "opt-out").strip().lower()
if ASSINA_MARKETING_CONSENT not in ("opt-in", "opt-out"):
    raise ImproperlyConfigured("ASSINA_MARKETING_CONSENT must be 'opt-in' or 'opt-out'")
# A message claimed by a worker that crashed is sent again (same Message-ID) after this long.
ASSINA_EMAIL_CLAIM_SECONDS = int(os.environ.get("ASSINA_EMAIL_CLAIM_SECONDS", "600"))


# --- analytics (assina.analytics) ---
# The currency every MRR figure is reported in (other currencies convert with the operator's
# exchange rates, set in the admin); the dashboard is the first page after login.
ASSINA_REPORTING_CURRENCY = os.environ.get("ASSINA_REPORTING_CURRENCY", ASSINA_DEFAULT_CURRENCY).strip().upper()
LOGIN_REDIRECT_URL = "/dashboard/"


# --- operator accounts (assina.accounts): passwords and the admin login's throttle ---
# Django's validators on every admin password (createadmin included): not too similar to the
# user name, at least ASSINA_PASSWORD_MIN_LENGTH (10) characters, not a common or all-digit one.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": int(os.environ.get("ASSINA_PASSWORD_MIN_LENGTH", "10"))}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# After this many failed sign-ins for one user name or from one address, that name or address
# is locked out for ASSINA_LOGIN_LOCKOUT_SECONDS, doubling with each further failure (max a day).
ASSINA_LOGIN_MAX_FAILURES = int(os.environ.get("ASSINA_LOGIN_MAX_FAILURES", "10"))
ASSINA_LOGIN_LOCKOUT_SECONDS = int(os.environ.get("ASSINA_LOGIN_LOCKOUT_SECONDS", "60"))
# Proxies in front of Assina that append the client's address to X-Forwarded-For (0: none, the
# connection's address is the client's). Used to throttle sign-ins per client address.
ASSINA_TRUSTED_PROXIES = int(os.environ.get("ASSINA_TRUSTED_PROXIES", "0"))


# --- live mode: HTTPS settings and the refusals (assina.clock; docs/deploy.md, docs/security.md) ---
# Keep this block last: it checks the settings above. A live process refuses to start with
# anything that could lose or give away real money by one forgotten variable.
PUBLISHED_SANDBOX_SECRET_KEY = "assina-sandbox-insecure-key-do-not-use-in-live-mode"
ASSINA_ALLOW_INSECURE_BASE_URL = os.environ.get("ASSINA_ALLOW_INSECURE_BASE_URL", "0") == "1"


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip()
    if raw not in ("", "0", "1"):
        raise ImproperlyConfigured(f"{name} must be 0 or 1")
    return default if raw == "" else raw == "1"


# HTTPS is on by default in live mode (behind an HTTPS proxy, docs/deploy.md), off in a sandbox
# and in a local live trial over http (ASSINA_ALLOW_INSECURE_BASE_URL=1).
_https = ASSINA_MODE == "live" and not ASSINA_ALLOW_INSECURE_BASE_URL
SECURE_SSL_REDIRECT = _flag("ASSINA_SSL_REDIRECT", _https)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _flag("ASSINA_SECURE_COOKIES", _https)
SECURE_HSTS_SECONDS = int(os.environ.get("ASSINA_HSTS_SECONDS", "31536000" if _https else "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = _flag("ASSINA_HSTS_INCLUDE_SUBDOMAINS", _https)
SECURE_HSTS_PRELOAD = _flag("ASSINA_HSTS_PRELOAD", _https)
# The header the HTTPS proxy sets to say the client's request was https ("" for none). Only
# safe when the proxy sets it on every request and nothing reaches Assina but the proxy.
_proxy_header = os.environ.get("ASSINA_PROXY_SSL_HEADER", "X-Forwarded-Proto" if _https else "").strip()
SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_header.upper().replace("-", "_"), "https") if _proxy_header else None
if ASSINA_MODE == "live" and "ASSINA_ALLOWED_HOSTS" not in os.environ:
    # Live answers only to the host its links point at, unless told otherwise.
    from urllib.parse import urlsplit as _urlsplit

    ALLOWED_HOSTS = [_urlsplit(ASSINA_BASE_URL).hostname or ""]

if ASSINA_MODE == "live":
    _refusals = []
    if ASSINA_GATEWAY == "sandbox":
        _refusals.append("ASSINA_GATEWAY is the sandbox gateway (test cards): set ASSINA_GATEWAY=stripe")
    if len(SECRET_KEY) < 50 or SECRET_KEY == PUBLISHED_SANDBOX_SECRET_KEY or len(set(SECRET_KEY)) < 5:
        _refusals.append("ASSINA_SECRET_KEY must be a random secret of at least 50 characters (for example: "
                         "python3 -c 'import secrets; print(secrets.token_urlsafe(50))')")
    if DEBUG:
        _refusals.append("ASSINA_DEBUG must be off")
    if not ASSINA_BASE_URL.startswith("https://") and not ASSINA_ALLOW_INSECURE_BASE_URL:
        _refusals.append("ASSINA_BASE_URL must start with https:// (ASSINA_ALLOW_INSECURE_BASE_URL=1 allows http "
                         "for a local trial only)")
    if _refusals:
        raise ImproperlyConfigured("live mode refuses to start: " + "; ".join(_refusals))
