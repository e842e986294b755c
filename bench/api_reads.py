"""Benchmark: ``GET /api/v1/subscriptions/{id}`` through the production server, against a peer.

Creates a fresh database (a temporary SQLite file, or with --database a PostgreSQL database that
is dropped and recreated), fills it through the CLI with plans, customers and subscriptions, and
creates a read API key; starts gunicorn with the project's settings
(``gunicorn -c python:assina.api.gunicorn_conf assina.wsgi``) on 127.0.0.1 and loads it from
other processes: keep-alive connections, closed loop, requests built beforehand (a lean
socket client: wrk and ab are not installed here, and an HTTP library would spend more CPU
than the server). The rate limiter stays on, with a limit above the load and a lease size as
in production, so its cost is measured too.

The peer, measured in the same run with the same gunicorn settings and client: a WSGI app that
answers the same bytes without Django (``api_reads:peer_app``) -- the raw limit of the stack
(gunicorn's HTTP handling and the client), which no Django view can beat.

Prints JSON: requests/s, latency p50/p90/p99 (ms), errors, the server's CPU time per request
(gunicorn's processes; steadier than wall figures on a shared machine), PostgreSQL's backends'
CPU per request, the client's, and the load average before and after.
Targets (issue 4): >= 1,000 requests/s with p99 < 50 ms on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fresh_database import recreate_postgres

ROOT = Path(__file__).resolve().parents[1]
ASSINA = ROOT / ".venv" / "bin" / "assina"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
# What the peer answers (set from a real response before its server starts, through the environment).
PEER_BODY_ENV = "ASSINA_BENCH_PEER_BODY"


def peer_app(environ, start_response):
    """The peer: the subscription's bytes without Django, database or middleware."""
    start_response("200 OK", [("Content-Type", "application/json; charset=utf-8"),
                              ("Content-Length", str(len(_PEER_BODY)))])
    return [_PEER_BODY]


_PEER_BODY = os.environ.get(PEER_BODY_ENV, "{}").encode()


def run(env: dict, *args: str) -> dict:
    proc = subprocess.run([str(ASSINA), "--json", *args], env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"assina {' '.join(args)} failed: {proc.stderr}")
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def prepare(env: dict, subscriptions: int) -> tuple[list[int], str]:
    run(env, "migrate")
    run(env, "clock", "advance", "--to", "2027-01-31T10:00:00Z")
    run(env, "plan", "create", "--code", "basic", "--amount", "29.90", "--interval", "month")
    run(env, "plan", "create", "--code", "seats", "--amount", "9.90", "--interval", "month", "--addon",
        "--pricing-model", "per_unit")
    script = f"""
import os, django
django.setup()
from assina.time import now
from assina.payments.new_customer import create_customer
from assina.subscriptions.services import create_subscription
ids = []
for i in range({subscriptions}):
    c = create_customer(email=f"bench{{i}}@example.com", at=now(), card="4242424242424242")
    ids.append(create_subscription(customer=c, plan_code="basic", addons=[("seats", 1 + i % 5)]).pk)
print(ids)
"""
    proc = subprocess.run([sys.executable, "-c", script], env={**env, "DJANGO_SETTINGS_MODULE": "assina.settings"},
                          capture_output=True, text=True, check=True)
    ids = json.loads(proc.stdout.strip().splitlines()[-1])
    secret = run(env, "apikey", "create", "--scope", "read", "--name", "bench")["secret"]
    return ids, secret


def start_server(env: dict, port: int, workers: int, threads: int, app: str, ready_path: str) -> subprocess.Popen:
    server_env = {**env, "ASSINA_API_BIND": f"127.0.0.1:{port}", "ASSINA_API_WORKERS": str(workers),
                  "ASSINA_API_THREADS": str(threads), "DJANGO_SETTINGS_MODULE": "assina.settings",
                  "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT / 'bench'}"}
    server = subprocess.Popen([str(GUNICORN), "-c", "python:assina.api.gunicorn_conf", app], env=server_env,
                              cwd=str(ROOT))
    import httpx

    for _ in range(600):
        try:
            httpx.get(f"http://127.0.0.1:{port}{ready_path}", timeout=1)
            return server
        except httpx.HTTPError:
            if server.poll() is not None:
                break
            time.sleep(0.1)
    server.kill()
    raise SystemExit("gunicorn did not start")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=30)


class _Conn:
    __slots__ = ("sock", "buf", "started")


def _client(port: int, requests: list[bytes], connections: int, seconds: float, seed: int, out) -> None:
    """One load process: ``connections`` keep-alive sockets driven by one epoll loop.

    Closed loop (each connection sends its next request when the answer is in), requests built
    beforehand, responses framed by Content-Length: the client spends a few microseconds per
    request, so what is measured is the server. Sends (latencies, non-2xx, reconnects, CPU s).
    """
    import array
    import random
    import resource
    import selectors
    import socket

    rng = random.Random(seed)
    order = [rng.randrange(len(requests)) for _ in range(65536)]
    sel = selectors.DefaultSelector()
    latencies = array.array("d")
    non_2xx = reconnects = 0
    n = 0
    clock = time.perf_counter

    def connect() -> _Conn:
        c = _Conn()
        c.sock = socket.create_connection(("127.0.0.1", port))
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.buf = b""
        sel.register(c.sock, selectors.EVENT_READ, c)
        return c

    def send(c: _Conn) -> None:
        nonlocal n
        n += 1
        c.buf = b""
        c.started = clock()
        c.sock.sendall(requests[order[n & 65535]])

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    stop = clock() + seconds
    for c in [connect() for _ in range(connections)]:
        send(c)
    while True:
        now = clock()
        if now >= stop:
            break
        for key, _mask in sel.select(timeout=stop - now):
            c = key.data
            chunk = c.sock.recv(65536)
            if not chunk:  # the server closed the connection: open another one
                sel.unregister(c.sock)
                c.sock.close()
                reconnects += 1
                send(connect())
                continue
            buf = c.buf = c.buf + chunk
            head_end = buf.find(b"\r\n\r\n")
            if head_end < 0:
                continue
            head = buf[:head_end].lower()
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                raise SystemExit("the server answered without Content-Length: " + head.decode(errors="replace"))
            line_end = head.find(b"\r\n", at + 2)
            length = int(head[at + 17:line_end if line_end > 0 else None])
            if len(buf) < head_end + 4 + length:
                continue
            latencies.append(clock() - c.started)
            if buf[9:10] != b"2":
                non_2xx += 1
            send(c)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    out.send((latencies.tobytes(), non_2xx, reconnects,
              cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime))
    out.close()


def load(port: int, requests: list[bytes], seconds: float, connections: int, processes: int) -> dict:
    """Closed-loop load from ``processes`` client processes sharing ``connections`` keep-alive connections."""
    import array
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    pipes, procs = [], []
    for i in range(processes):
        mine = connections // processes + (1 if i < connections % processes else 0)
        receive, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_client, args=(port, requests, mine, seconds, i, send))
        proc.start()
        send.close()  # the child's end: a child that dies then shows as EOF here, not as a hang
        pipes.append(receive)
        procs.append(proc)
    latencies = array.array("d")
    non_2xx = reconnects = 0
    client_cpu = 0.0
    for receive in pipes:
        raw, bad, again, cpu = receive.recv()
        latencies.frombytes(raw)
        non_2xx, reconnects, client_cpu = non_2xx + bad, reconnects + again, client_cpu + cpu
    for proc in procs:
        proc.join()
    ordered = sorted(latencies)
    count = len(ordered)

    def pct(p: float) -> float:
        return round(ordered[min(count - 1, int(count * p))] * 1000, 2) if count else 0.0

    return {"requests_per_second": round(count / seconds, 1), "requests": count,
            "latency_ms": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "max": pct(1.0)},
            "non_2xx": non_2xx, "reconnects": reconnects,
            "client_cpu_ms_per_request": round(client_cpu * 1000 / max(1, count), 3)}


def request_bytes(port: int, path: str, secret: str | None) -> bytes:
    auth = f"Authorization: Bearer {secret}\r\n" if secret else ""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}Accept: */*\r\n\r\n".encode()


def _cpu_seconds(root_pid: int) -> float:
    """User + system CPU time of gunicorn's master and workers so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(name) == root_pid or int(stat[1]) == root_pid:
            total += (int(stat[11]) + int(stat[12])) / ticks
    return total


def _database_pids(database: str | None) -> list[int]:
    """PostgreSQL's backend processes serving the benchmark's database (their CPU is the server's too)."""
    if not database:
        return []
    import psycopg

    with psycopg.connect(database, autocommit=True) as conn:
        rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                            "AND pid <> pg_backend_pid()").fetchall()
    return [pid for (pid,) in rows]


def _pids_cpu(pids: list[int]) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(stat[11]) + int(stat[12])) / ticks
    return total


def measure(server: subprocess.Popen, port: int, requests: list[bytes], args, database: str | None = None) -> dict:
    load(port, requests, args.warmup, args.connections, args.client_processes)  # imports, caches, connections
    backends = _database_pids(database)  # the workers keep their connections: the same processes throughout
    cpu_before, db_before = _cpu_seconds(server.pid), _pids_cpu(backends)
    load_before = os.getloadavg()[0]
    result = load(port, requests, args.seconds, args.connections, args.client_processes)
    server_cpu = _cpu_seconds(server.pid) - cpu_before
    if database:
        result["database_cpu_ms_per_request"] = round((_pids_cpu(backends) - db_before) * 1000
                                                      / max(1, result["requests"]), 3)
    # What the server spends per request, whatever else the machine is running: on an idle
    # machine its cores divided by this is the most the server can answer (the load
    # generator shares the same cores, so a measured figure stays below it).
    result["server_cpu_ms_per_request"] = round(server_cpu * 1000 / max(1, result["requests"]), 3)
    result["server_capacity_per_idle_core"] = round(1000 / max(1e-9, result["server_cpu_ms_per_request"]))
    result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL URL to (re)create; default: a temporary SQLite file")
    parser.add_argument("--subscriptions", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--client-processes", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rate-limit", type=float, default=20000,
                        help="per-key requests/s the server allows: above the load, so nothing is refused")
    parser.add_argument("--no-peer", action="store_true", help="skip the peer (the raw gunicorn limit)")
    parser.add_argument("--port", type=int, default=18742)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="assina-api-reads-"))
    if args.database:
        url = recreate_postgres(args.database)
    else:
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSINA_", "DJANGO_"))}
    env.update(ASSINA_DATABASE_URL=url, ASSINA_MODE="sandbox", PYTHONPATH=str(ROOT / "src"))
    ids, secret = prepare(env, args.subscriptions)
    requests = [request_bytes(args.port, f"/api/v1/subscriptions/sub_{pk}", secret) for pk in ids]
    env["ASSINA_API_RATE_LIMIT"] = str(args.rate_limit)
    try:
        server = start_server(env, args.port, args.workers, args.threads, "assina.wsgi", "/api/v1/openapi.json")
        try:
            import httpx

            sample = httpx.get(f"http://127.0.0.1:{args.port}/api/v1/subscriptions/sub_{ids[0]}",
                               headers={"Authorization": f"Bearer {secret}"}).content
            result = measure(server, args.port, requests, args, args.database)
        finally:
            stop_server(server)
        peer = None
        if not args.no_peer:
            server = start_server({**env, PEER_BODY_ENV: sample.decode()}, args.port, args.workers, args.threads,
                                  "api_reads:peer_app", "/")
            try:
                peer = measure(server, args.port, requests, args)
            finally:
                stop_server(server)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    engine = "postgresql" if args.database else "sqlite"
    report = {"benchmark": "api_reads", "endpoint": "GET /api/v1/subscriptions/{id}", "engine": engine,
              "server": f"gunicorn gthread, {args.workers} workers x {args.threads} threads",
              "client": f"{args.client_processes} process(es), {args.connections} keep-alive connections, closed loop",
              "seconds": args.seconds, "subscriptions": len(ids), "response_bytes": len(sample),
              "rate_limit_per_key": args.rate_limit, **result}
    if peer is not None:
        report["peer"] = {"what": "the same bytes from a bare WSGI app in the same gunicorn (no Django)", **peer}
        report["share_of_peer_requests_per_second"] = round(result["requests_per_second"] / peer["requests_per_second"], 3)
    report.update(target={"requests_per_second": 1000, "p99_ms": 50},
                  meets_target=result["requests_per_second"] >= 1000 and result["latency_ms"]["p99"] < 50,
                  cpus=os.cpu_count())
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
