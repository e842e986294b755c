"""``assina apikey create|list|revoke`` (see ``assina.cli_support.CliBuilder``)."""

from assina.cli_support import NAME, text


def register(cli) -> None:
    cli.group("apikey", "API keys for the REST API (/api/v1)")
    p = cli.add("create", "create an API key (its secret is shown once)", cli.group("apikey", ""))
    p.add_argument("--scope", required=True, choices=["read", "write"], help="read: GET only; write: everything")
    p.add_argument("--name", default="", type=text(100), help="a label to recognise it (e.g. 'shop backend')")
    cli.add("list", "list API keys (never their secrets)", cli.group("apikey", ""))
    p = cli.add("revoke", "revoke an API key at once", cli.group("apikey", ""))
    p.add_argument("key", type=text(NAME), help="its id, its name or the secret")

    @cli.command("apikey create")
    def create(args):
        from assina.api.keys import create_key

        new = create_key(scope=args.scope, name=args.name)
        return {**_key_json(new.key), "secret": new.secret}

    @cli.command("apikey list")
    def list_keys(args):
        from assina.api.models import ApiKey

        return {"api_keys": [_key_json(k) for k in ApiKey.objects.order_by("id")]}

    @cli.command("apikey revoke")
    def revoke(args):
        from assina.api.keys import revoke_key

        return _key_json(revoke_key(args.key))


def _key_json(key) -> dict:
    def iso(value):
        return value.isoformat().replace("+00:00", "Z") if value else None

    return {"id": key.pk, "name": key.name, "key": key.hint, "mode": key.mode, "scope": key.scope,
            "created_at": iso(key.created_at), "last_used_at": iso(key.last_used_at), "revoked_at": iso(key.revoked_at)}
