"""The API as a developer meets it: keys made with the CLI, requests to gunicorn (two worker
processes) over loopback, retries racing each other with one Idempotency-Key."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

GUNICORN = Path(sys.executable).with_name("gunicorn")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def assina(scratch_assina, tmp_path_factory):
    """One database for the module: starting gunicorn's workers is the slow part."""
    with scratch_assina(tmp_path_factory.mktemp("api-server")) as cli:
        yield cli


@pytest.fixture(scope="module")
def server(assina):
    port = _free_port()
    env = {**assina.env, "ASSINA_API_BIND": f"127.0.0.1:{port}", "ASSINA_API_WORKERS": "2", "ASSINA_API_THREADS": "4",
           "PYTHONPATH": str(Path(__file__).parents[2] / "src")}
    proc = subprocess.Popen([str(GUNICORN), "-c", "python:assina.api.gunicorn_conf", "assina.wsgi"], env=env,
                            cwd=assina.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/api/v1"
    # Generous: on a loaded 2-core machine two gunicorn workers importing Django take a while.
    deadline = time.monotonic() + 90
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/openapi.json", timeout=2)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("gunicorn did not start: " + proc.stderr.read().decode())
    yield base
    proc.terminate()
    proc.wait(timeout=30)


def test_cli_keys_work_against_the_server_until_revoked(assina, server):
    created = assina.ok("apikey", "create", "--scope", "write", "--name", "shop")
    secret = created["secret"]
    assert secret.startswith("sk_sandbox_") and created["key"].endswith(secret[-4:])
    listed = [k for k in assina.ok("apikey", "list")["api_keys"] if k["id"] == created["id"]]
    assert [k["name"] for k in listed] == ["shop"] and "secret" not in listed[0]
    headers = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{server}/customers", headers=headers).status_code == 200
    assert [k for k in assina.ok("apikey", "list")["api_keys"] if k["id"] == created["id"]][0]["last_used_at"]
    assina.ok("apikey", "revoke", str(created["id"]))
    refused = httpx.get(f"{server}/customers", headers=headers)
    assert refused.status_code == 401 and refused.json()["code"] == "api_key_revoked"
    assert refused.headers["content-type"].startswith("application/problem+json")
    assina.refused("apikey", "revoke", "no-such-key", words=("unknown API key",))


def test_racing_retries_with_one_idempotency_key_create_one_customer(assina, server):
    secret = assina.ok("apikey", "create", "--scope", "write")["secret"]
    headers = {"Authorization": f"Bearer {secret}", "Idempotency-Key": "signup-42"}
    body = {"email": "race@example.com", "payment_method_token": "4242424242424242"}
    results: list[httpx.Response] = []
    barrier = threading.Barrier(8)

    def send():
        with httpx.Client() as client:
            barrier.wait()
            results.append(client.post(f"{server}/customers", json=body, headers=headers, timeout=30))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.status_code for r in results)
    assert set(statuses) <= {201, 409}, statuses
    created = [r for r in results if r.status_code == 201]
    assert len({r.content for r in created}) == 1  # replays are byte for byte the first answer
    assert all(r.json()["code"] == "idempotency_request_in_progress" for r in results if r.status_code == 409)
    final = httpx.post(f"{server}/customers", json=body, headers=headers)
    assert final.status_code == 201 and final.headers["idempotent-replayed"] == "true"
    listed = httpx.get(f"{server}/customers", headers={"Authorization": f"Bearer {secret}"}).json()["data"]
    assert [c["email"] for c in listed] == ["race@example.com"]


@pytest.mark.parametrize("url_bytes", [8100, 20000])
def test_an_over_long_url_gets_the_api_414_problem_from_gunicorn_too(assina, server, url_bytes):
    """8,100 bytes pass gunicorn (limit_request_line 8,190) and the API refuses them; 20,000
    bytes never reach Django and the worker answers with the same problem, not an HTML page."""
    secret = assina.ok("apikey", "create", "--scope", "read")["secret"]
    url = f"{server}/customers?email=" + "a" * (url_bytes - len("/api/v1/customers?email="))
    response = httpx.get(url, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 414
    assert response.headers["content-type"] == "application/problem+json; charset=utf-8"
    body = response.json()
    assert body["code"] == "uri_too_long" and body["status"] == 414 and body["type"] == "urn:assina:problem:uri_too_long"
    assert "8000 bytes" in body["detail"] and body["title"]
    # A URL under the limit is read as usual.
    ok = httpx.get(f"{server}/customers?pad=" + "a" * 7000, headers={"Authorization": f"Bearer {secret}"})
    assert ok.status_code == 200, ok.text


def test_a_method_a_route_does_not_have_is_a_405_problem(assina, server):
    secret = assina.ok("apikey", "create", "--scope", "write")["secret"]
    response = httpx.delete(f"{server}/customers", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 405 and sorted(response.headers["allow"].split(", ")) == ["GET", "HEAD", "POST"]
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "method_not_allowed"


def test_head_answers_like_get_and_a_bad_host_is_a_problem_through_gunicorn(assina, server):
    import socket
    from urllib.parse import urlsplit

    secret = assina.ok("apikey", "create", "--scope", "read")["secret"]
    auth = {"Authorization": f"Bearer {secret}"}
    got = httpx.get(f"{server}/customers", headers=auth)
    address = urlsplit(server)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(f"HEAD /api/v1/customers HTTP/1.1\r\nHost: {address.netloc}\r\nAuthorization: Bearer {secret}\r\n"
                     "Connection: close\r\n\r\n".encode())
        raw = b""
        while chunk := sock.recv(65536):
            raw += chunk
    head, _sep, body = raw.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _s, v in (line.partition(":") for line in lines[1:])}
    assert lines[0].startswith("HTTP/1.1 200") and body == b""
    assert headers["content-length"] == str(len(got.content)) and headers["content-type"] == got.headers["content-type"]

    bad = httpx.get(f"{server}/customers", headers={**auth, "Host": "evil.example.com", "Accept-Language": "pt-BR"})
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["code"] == "bad_host" and bad.json()["title"] == "Requisição inválida"
