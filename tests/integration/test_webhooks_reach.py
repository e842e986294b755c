"""Webhooks reach public addresses only (issue 14): an endpoint on loopback, a private network,
link-local (the cloud metadata service), CGNAT, multicast or the unspecified address, in any
spelling, is refused when it is created or changed (API, admin, services: nothing saved), and a
name that resolves to such an address later is not sent to. A failed attempt says nothing about
which ports are open; redirects are not followed.

These tests connect only to 127.0.0.1 (with the check on, nothing is sent at all); addresses of
other ranges are only ever written in URLs that must be refused before any connection.
"""

import pytest
from api_support import api, problem  # noqa: F401 - api is a fixture
from factories import make_customer, real_transactions, start_clock, utc
from webhooks_support import Receiver, Resolver

from assina.events.models import Event
from assina.webhooks import delivery as sender
from assina.webhooks import egress
from assina.webhooks.fanout import fan_out
from assina.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from assina.webhooks.services import WebhookError, create_endpoint, update_endpoint

NOT_PUBLIC_URLS = [
    "http://127.0.0.1:5432/",
    "http://localhost:8000/hooks",  # a name: /etc/hosts says 127.0.0.1
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://0x7f.1/",  # hex, two parts
    "http://0177.0.0.1/",  # octal
    "http://127.1/",
    "http://169.254.169.254/latest/meta-data/",  # the cloud metadata service
    "http://10.0.0.5/",
    "http://172.16.0.1/",
    "http://172.31.255.254/",
    "http://192.168.1.1/",
    "http://100.64.0.1/",  # CGNAT
    "http://224.0.0.1/",  # multicast
    "http://0.0.0.0:8080/",
    "http://[::1]/",
    "http://[::]/",
    "http://[fe80::1]/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://[::ffff:127.0.0.1]/",  # IPv4-mapped
    "http://[::ffff:a9fe:a9fe]/",  # 169.254.169.254, mapped and in hex
    "http://[2002:7f00:1::1]/",  # 6to4 around 127.0.0.1
    "http://[ff02::1]/",
]


@pytest.fixture
def checked(settings):
    """The production rule: no private addresses (the test suite allows them by default)."""
    settings.ASSINA_WEBHOOK_ALLOW_PRIVATE = False
    return settings


@pytest.fixture
def dns(monkeypatch):
    resolver = Resolver(egress.resolve)
    monkeypatch.setattr(egress, "resolve", resolver)
    return resolver


@pytest.mark.django_db
@pytest.mark.parametrize("url", NOT_PUBLIC_URLS)
def test_an_endpoint_on_a_non_public_address_is_refused_by_the_service(checked, url):
    with pytest.raises(WebhookError, match="public addresses"):
        create_endpoint(url=url)
    assert not WebhookEndpoint.objects.exists() and not Event.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://127.0.0.1:5432/", "http://0x7f.1/", "http://[::ffff:127.0.0.1]/",
                                 "http://169.254.169.254/latest/meta-data/"])
def test_the_api_refuses_them_with_a_translated_problem_and_saves_nothing(checked, api, url):
    body = problem(api.post("/webhook_endpoints", {"url": url}), 422, "webhook_invalid")
    assert "public addresses" in body["detail"]
    body = problem(api.post("/webhook_endpoints", {"url": url}, HTTP_ACCEPT_LANGUAGE="pt-BR"), 422, "webhook_invalid")
    assert "endereços públicos" in body["detail"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_the_admin_refuses_them_and_saves_nothing(checked, admin_client):
    response = admin_client.post("/admin/webhooks/webhookendpoint/add/", {"url": "http://10.0.0.5/hooks",
                                                                          "description": "", "event_types": ""})
    assert response.status_code == 200 and "public addresses" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_a_name_whose_addresses_are_not_all_public_is_refused(checked, dns):
    dns.names["internal.example"] = ["10.1.2.3"]
    dns.names["mixed.example"] = ["93.184.215.14", "192.168.0.10"]
    dns.names["hooks.example"] = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    for url in ("https://internal.example/hooks", "https://mixed.example/hooks"):
        with pytest.raises(WebhookError, match="public addresses"):
            create_endpoint(url=url)
    with pytest.raises(WebhookError, match="could not be resolved"):
        create_endpoint(url="https://nowhere.invalid/hooks")
    endpoint = create_endpoint(url="https://hooks.example/hooks")
    with pytest.raises(WebhookError, match="public addresses"):  # changing the URL is checked the same way
        update_endpoint(endpoint.pk, url="https://internal.example/hooks")
    assert WebhookEndpoint.objects.get().url == "https://hooks.example/hooks"


@pytest.mark.django_db
def test_live_mode_takes_https_only(checked, dns):
    dns.names["hooks.example"] = ["93.184.215.14"]
    checked.ASSINA_MODE = "live"
    with pytest.raises(WebhookError, match="https://"):
        create_endpoint(url="http://hooks.example/hooks")
    assert create_endpoint(url="https://hooks.example/hooks").url == "https://hooks.example/hooks"


@pytest.mark.django_db
def test_allow_private_lets_a_developer_use_a_local_receiver(settings):
    settings.ASSINA_WEBHOOK_ALLOW_PRIVATE = True
    assert create_endpoint(url="http://127.0.0.1:9/hooks").url == "http://127.0.0.1:9/hooks"


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def _one_delivery(endpoint):
    Event.objects.create(type="customer.created", occurred_at=utc(2027, 1, 1), subject_type="customer", subject_id=1)
    fan_out(utc(2027, 1, 1), at_due_time=True)
    return WebhookDelivery.objects.get(endpoint=endpoint, event__type="customer.created")


@real_transactions
def test_a_name_that_resolves_to_loopback_at_send_time_is_not_sent_to(checked, dns, receiver):
    """DNS rebinding: the name was public when the endpoint was saved, and points at the
    machine itself when the worker connects. The worker checks the address it connects to."""
    start_clock(utc(2027, 1, 1))
    dns.names["localhost"] = ["93.184.215.14"]  # what the name said when the endpoint was created
    endpoint = create_endpoint(url=f"http://localhost:{receiver.port}/hooks", event_types=["customer.*"])
    receiver.secrets = [endpoint.secret]
    del dns.names["localhost"]  # now the system's answer: 127.0.0.1, where the receiver listens
    delivery = _one_delivery(endpoint)
    assert sender.send_due(utc(2027, 1, 1), at_due_time=True)["webhook_failures"] == 1
    assert receiver.hits == 0
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.error == sender.NOT_PUBLIC and attempt.response_status is None and attempt.response_body == ""


@real_transactions
def test_an_endpoint_saved_before_the_rule_is_not_sent_to_either(checked, receiver):
    start_clock(utc(2027, 1, 1))
    at = utc(2027, 1, 1)
    endpoint = WebhookEndpoint.objects.create(url=receiver.url, secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                                              created_at=at, updated_at=at)
    delivery = _one_delivery(endpoint)
    sender.send_due(at, at_due_time=True)
    assert receiver.hits == 0
    assert WebhookAttempt.objects.get(delivery=delivery).error == sender.NOT_PUBLIC


@real_transactions
def test_a_failed_attempt_does_not_tell_an_open_port_from_a_closed_one(settings):
    """Refused, reset and silent ports all read the same, so the attempt log cannot be used to
    scan a network (the loopback receivers are allowed here, as in development)."""
    import socket
    import threading

    settings.ASSINA_WEBHOOK_TIMEOUT = 1
    start_clock(utc(2027, 1, 1))
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()  # nothing listens: connection refused
    resetting, silent = socket.socket(), socket.socket()
    for s in (resetting, silent):
        s.bind(("127.0.0.1", 0))
        s.listen(4)

    def reset_all():
        import struct

        while True:
            try:
                conn, _ = resetting.accept()
            except OSError:
                return
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()  # RST

    threading.Thread(target=reset_all, daemon=True).start()
    try:
        urls = [f"http://127.0.0.1:{closed_port}/", f"http://127.0.0.1:{resetting.getsockname()[1]}/",
                f"http://127.0.0.1:{silent.getsockname()[1]}/"]
        endpoints = [create_endpoint(url=url, event_types=["customer.created"]) for url in urls]
        make_customer()
        fan_out(utc(2027, 1, 1), at_due_time=True)
        sender.send_due(utc(2027, 1, 1), at_due_time=True)
        errors = [WebhookAttempt.objects.get(delivery__endpoint=e).error for e in endpoints]
        assert errors == [sender.NO_ANSWER] * 3
    finally:
        resetting.close()
        silent.close()


@real_transactions
def test_a_redirect_is_not_followed(receiver):
    """A 3xx is the endpoint's answer (recorded, retried); the sender never goes where it points."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(307)
            self.send_header("location", receiver.url)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        start_clock(utc(2027, 1, 1))
        endpoint = create_endpoint(url=f"http://127.0.0.1:{server.server_address[1]}/hooks", event_types=["customer.*"])
        delivery = _one_delivery(endpoint)
        sender.send_due(utc(2027, 1, 1), at_due_time=True)
        assert receiver.hits == 0
        assert WebhookAttempt.objects.get(delivery=delivery).response_status == 307
    finally:
        server.shutdown()
        server.server_close()


def test_literal_addresses_are_read_as_the_c_library_reads_them():
    import ipaddress

    for spelling in ("2130706433", "0x7f.1", "0177.0.0.1", "127.1", "0x7f000001", "127.0.0.1.", "[::ffff:7f00:1]"):
        address = egress.literal_address(spelling)
        assert address is not None and not egress.is_public(address), spelling
    assert egress.literal_address("hooks.example") is None and egress.literal_address("256.1.1.1") is None
    assert egress.is_public(ipaddress.ip_address("93.184.215.14"))
    assert egress.is_public(ipaddress.ip_address("2606:4700::1111"))


@real_transactions
def test_https_to_the_pinned_address_keeps_the_name_for_sni_host_and_the_certificate(dns, monkeypatch):
    """The sender connects to the address it checked, yet TLS sees the URL's name: SNI and Host
    are the name and the certificate must be valid for it (a certificate for another name fails)."""
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from pathlib import Path

    tls = Path(__file__).parent.parent / "webhooks_tls"  # a self-signed certificate for hooks.test
    monkeypatch.setenv("SSL_CERT_FILE", str(tls / "cert.pem"))  # the sender trusts it (httpx reads this)
    seen = {"sni": [], "host": []}

    class Ok(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("content-length", 0)))
            seen["host"].append(self.headers["host"])
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls / "cert.pem", tls / "key.pem")
    context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    dns.names["hooks.test"] = ["127.0.0.1"]  # loopback is allowed here (the suite's development setting)
    dns.names["other.test"] = ["127.0.0.1"]
    try:
        start_clock(utc(2027, 1, 1))
        good = create_endpoint(url=f"https://hooks.test:{port}/hooks", event_types=["customer.*"])
        wrong = create_endpoint(url=f"https://other.test:{port}/hooks", event_types=["customer.*"])
        make_customer()
        fan_out(utc(2027, 1, 1), at_due_time=True)
        sender.send_due(utc(2027, 1, 1), at_due_time=True)
        assert WebhookAttempt.objects.get(delivery__endpoint=good).response_status == 200
        assert WebhookAttempt.objects.get(delivery__endpoint=wrong).error == sender.NO_ANSWER  # wrong name
        assert seen["host"] == [f"hooks.test:{port}"] and "hooks.test" in seen["sni"]
    finally:
        server.shutdown()
        server.server_close()


def test_allowing_private_addresses_in_live_mode_is_reported(settings):
    from assina.webhooks.apps import private_addresses_in_live_mode

    settings.ASSINA_MODE = "live"
    settings.ASSINA_WEBHOOK_ALLOW_PRIVATE = True
    assert [w.id for w in private_addresses_in_live_mode(None)] == ["assina.webhooks.W001"]
    settings.ASSINA_WEBHOOK_ALLOW_PRIVATE = False
    assert private_addresses_in_live_mode(None) == []


@pytest.mark.django_db
def test_upgrading_clears_the_excerpts_stored_from_non_public_hosts():
    """Answers recorded before the rule (the metadata service's, a database's banner) stop being
    readable through the API; answers from public hosts stay."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("assina.webhooks.migrations.0003_clear_excerpts_from_private_hosts")
    at = utc(2027, 1, 1)
    event = Event.objects.create(type="customer.created", occurred_at=at, subject_type="customer", subject_id=1)
    bodies = {}
    for url in ("http://169.254.169.254/latest/meta-data/", "http://0x7f.1:5432/", "http://[::1]/",
                "http://localhost:9/", "https://93.184.215.14/hooks", "https://hooks.example/hooks"):
        endpoint = WebhookEndpoint.objects.create(url=url, secret="whsec_x", created_at=at, updated_at=at)
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, event=event, created_at=at)
        bodies[url] = WebhookAttempt.objects.create(delivery=delivery, attempted_at=at, response_status=200,
                                                    response_body=f"answer of {url}")
    migration.clear(apps, None)
    kept = {url: WebhookAttempt.objects.get(pk=a.pk).response_body for url, a in bodies.items()}
    assert kept == {"http://169.254.169.254/latest/meta-data/": "", "http://0x7f.1:5432/": "", "http://[::1]/": "",
                    "http://localhost:9/": "", "https://93.184.215.14/hooks": "answer of https://93.184.215.14/hooks",
                    "https://hooks.example/hooks": "answer of https://hooks.example/hooks"}


@real_transactions
def test_live_mode_does_not_send_to_an_http_endpoint_saved_earlier(settings, receiver):
    """An http:// endpoint saved while the database was a sandbox gets nothing once it is live."""
    start_clock(utc(2027, 1, 1))
    endpoint = create_endpoint(url=receiver.url, event_types=["customer.*"])
    delivery = _one_delivery(endpoint)
    settings.ASSINA_MODE = "live"
    sender.send_due(utc(2027, 1, 1), at_due_time=True)
    assert receiver.hits == 0
    assert WebhookAttempt.objects.get(delivery=delivery).error == sender.NOT_HTTPS
