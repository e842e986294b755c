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
    # A fixed key is acceptable only for sandbox databases on a developer machine.
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
        config["OPTIONS"] = {
            # WAL lets readers work while the worker writes; IMMEDIATE takes the write lock at
            # BEGIN so two writers queue instead of failing with "database is locked" mid-way.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
        config["TEST"] = {"NAME": os.environ.get("ASSINA_TEST_SQLITE_NAME") or None}
    elif config["ENGINE"] == "django.db.backends.postgresql":
        config.setdefault("OPTIONS", {})
    return config


DATABASES = {"default": _database(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.admin",
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
]

MIDDLEWARE = [
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

# --- API, usage events and webhooks (assina.api, assina.usage, assina.webhooks) ---

# --- customer messages (assina.notifications) ---

# --- analytics (assina.analytics) ---
