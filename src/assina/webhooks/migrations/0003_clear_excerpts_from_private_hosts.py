"""Attempts recorded before webhooks were held to public addresses (issue 14) may hold answers of
the machine's own services or the cloud metadata service, readable through the API. Their
response excerpts are cleared for endpoints whose URL names a non-public address literally
(127.0.0.1, 169.254.169.254, 0x7f.1, [::1], localhost...). Names are not resolved here (a
migration must not depend on DNS); the sender refuses them from now on."""

from urllib.parse import urlsplit

from django.db import migrations


def _non_public_literal(url: str) -> bool:
    from assina.webhooks.egress import is_public, literal_address

    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = literal_address(host)
    return address is not None and not is_public(address)


def clear(apps, schema_editor):
    Endpoint = apps.get_model("webhooks", "WebhookEndpoint")
    Attempt = apps.get_model("webhooks", "WebhookAttempt")
    ids = [pk for pk, url in Endpoint.objects.values_list("pk", "url") if _non_public_literal(url)]
    if ids:
        Attempt.objects.filter(delivery__endpoint_id__in=ids).exclude(response_body="").update(response_body="")


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0002_webhookendpoint_starts_after_event_id")]

    operations = [migrations.RunPython(clear, migrations.RunPython.noop)]
