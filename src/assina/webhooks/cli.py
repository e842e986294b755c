"""``assina webhook create|list|rotate-secret|delete`` (see ``assina.cli_support.CliBuilder``).

The same services as the API and the admin, so the same rules: a URL on a non-public address is
refused with the service's message (exit 1, nothing saved), and the signing secret is printed
once, by ``create`` and ``rotate-secret``; ``list`` shows it masked. No Django import at module
level: the parser is built before Django is set up.
"""

from __future__ import annotations

from assina.cli_support import NAME, text

URL_LENGTH = 2000


def register(cli) -> None:
    webhook = cli.group("webhook", "webhook endpoints (signed event deliveries to your application)")
    p = cli.add("create", "add an endpoint (its signing secret is shown once)", webhook)
    p.add_argument("--url", required=True, type=text(URL_LENGTH),
                   help="https:// URL on a public address (ASSINA_WEBHOOK_ALLOW_PRIVATE=1 allows local ones)")
    p.add_argument("--event-type", action="append", type=text(64), metavar="TYPE",
                   help="invoice.paid, invoice.* or *; repeat for more (default: every event)")
    p.add_argument("--description", default="", type=text(NAME))
    cli.add("list", "list the endpoints (secrets masked)", webhook)
    p = cli.add("rotate-secret", "new signing secret, shown once; the old one signs too for 24 hours", webhook)
    p.add_argument("endpoint", type=text(24), help="its id (we_1 or 1)")
    p = cli.add("delete", "delete an endpoint", webhook)
    p.add_argument("endpoint", type=text(24), help="its id (we_1 or 1)")

    @cli.command("webhook create")
    def create(args):
        from .services import create_endpoint

        endpoint = create_endpoint(url=args.url, description=args.description, event_types=args.event_type or [])
        return {**endpoint_json(endpoint), "secret": endpoint.secret}

    @cli.command("webhook list")
    def list_endpoints(args):
        from .models import WebhookEndpoint

        return {"webhook_endpoints": [endpoint_json(e) for e in WebhookEndpoint.objects.order_by("id")]}

    @cli.command("webhook rotate-secret")
    def rotate(args):
        from .services import rotate_secret

        endpoint = rotate_secret(args.endpoint)
        return {**endpoint_json(endpoint), "secret": endpoint.secret}

    @cli.command("webhook delete")
    def delete(args):
        from .services import delete_endpoint, get_endpoint

        endpoint = get_endpoint(args.endpoint)
        delete_endpoint(endpoint.pk)
        return {"id": f"we_{endpoint.pk}", "deleted": True}


def endpoint_json(endpoint) -> dict:
    from .signing import mask

    return {"id": f"we_{endpoint.pk}", "url": endpoint.url, "description": endpoint.description,
            "event_types": endpoint.event_types, "enabled": endpoint.enabled, "secret_hint": mask(endpoint.secret)}
