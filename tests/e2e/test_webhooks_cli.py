"""``assina webhook create|list|rotate-secret|delete`` as an operator runs them (issue 14): an
endpoint on a non-public address is refused with the service's message and nothing is saved; the
signing secret is printed once (create, rotate-secret) and masked by ``list``."""

from __future__ import annotations

import pytest

LOCAL = {"ASSINA_WEBHOOK_ALLOW_PRIVATE": "1"}  # a developer's receiver on this machine


@pytest.mark.parametrize("url", ["http://127.0.0.1:5432/", "http://0x7f.1/", "http://2130706433/",
                                 "http://169.254.169.254/latest/meta-data/", "http://[::ffff:10.0.0.1]/"])
def test_a_non_public_url_is_refused_and_nothing_saved(assina_in_process, url):
    assina = assina_in_process  # the CLI's main in this process: the service's refusal, no start-up per address
    assina.refused("webhook", "create", "--url", url, words=("public addresses",))
    assert assina.ok("webhook", "list") == {"webhook_endpoints": []}


def test_the_secret_is_printed_once_then_masked(assina):
    created = assina.ok("webhook", "create", "--url", "http://127.0.0.1:9/hooks", "--event-type", "invoice.*",
                        "--description", "shop", env=LOCAL)
    secret = created["secret"]
    assert secret.startswith("whsec_") and created["event_types"] == ["invoice.*"]
    listed = assina.run("webhook", "list")
    assert listed.returncode == 0 and secret not in listed.stdout
    (endpoint,) = assina.ok("webhook", "list")["webhook_endpoints"]
    assert endpoint["secret_hint"] == f"whsec_…{secret[-4:]}" and "secret" not in endpoint
    rotated = assina.ok("webhook", "rotate-secret", created["id"])
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != secret
    assert assina.ok("webhook", "delete", created["id"]) == {"id": created["id"], "deleted": True}
    assina.refused("webhook", "delete", created["id"], words=("unknown",))
