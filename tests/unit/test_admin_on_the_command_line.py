"""The command line starts Django without importing every app's admin module
(``assina.admin_site.DISCOVER``, off in ``assina.cli``); the web app's URLs import them, so
``assina serve`` (which loads the URLs first) has the whole admin. Run in a subprocess: the test
process itself started Django with them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

SCRIPT = """
import django
from assina import admin_site
admin_site.DISCOVER = False
django.setup()
from django.contrib import admin
from assina.customers.models import Customer
before = admin.site.is_registered(Customer)
import assina.urls
print(before, admin.site.is_registered(Customer), len(admin.site._registry) > 50)
"""


def test_a_command_skips_the_admin_modules_and_the_urls_bring_them_all():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "assina.settings", "PYTHONPATH": str(SRC),
           "ASSINA_DATABASE_URL": "sqlite:///:memory:"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True", "True"]
