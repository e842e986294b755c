"""Benchmark: ``GET /api/v1/subscriptions/{id}`` through the production server.

Creates a fresh database (a temporary SQLite file, or with --database a PostgreSQL database that
is dropped and recreated), fills it through the CLI with plans, customers and subscriptions, and
creates a read API key; starts gunicorn with the project's settings
(``gunicorn -c python:assina.api.gunicorn_conf assina.wsgi``) on 127.0.0.1, and loads it from a
second process: ``wrk`` (keep-alive connections, a Lua script that asks for random
subscriptions), or an httpx load script when wrk is missing. The rate limiter stays on (with a
limit above the load) so its cost is measured too.

Prints JSON: requests_per_second, latency p50/p90/p99 (ms), errors, the server's CPU time per
request (comparable across runs on a busy machine) and the load average.
Targets (issue 4): >= 1,000 requests/s with p99 < 50 ms on a 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASSINA = ROOT / ".venv" / "bin" / "assina"
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"

LUA = """
local ids = {%s}
local auth = "Bearer %s"
request = function()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/api/v1/subscriptions/sub_" .. id, {["Authorization"] = auth})
end
"""


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
from assina.clock.services import now
from assina.customers.services import create_customer
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


def start_server(env: dict, port: int, workers: int, threads: int) -> subprocess.Popen:
    server_env = {**env, "ASSINA_API_BIND": f"127.0.0.1:{port}", "ASSINA_API_WORKERS": str(workers),
                  "ASSINA_API_THREADS": str(threads), "ASSINA_API_RATE_LIMIT": "1000000"}
    server = subprocess.Popen([str(GUNICORN), "-c", "python:assina.api.gunicorn_conf", "assina.wsgi"], env=server_env,
                              cwd=str(ROOT))
    import httpx

    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1)
            return server
        except httpx.HTTPError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("gunicorn did not start")


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def load_with_wrk(port: int, ids: list[int], secret: str, seconds: int, connections: int, threads: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA % (",".join(map(str, ids)), secret))
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name,
                          f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: (.*)", out)
    return {"tool": "wrk", "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "latency_ms": {f"p{k}": round(_ms(v), 2) for k, v in percentiles.items()},
            "non_2xx": int(errors.group(1)) if errors else 0, "socket_errors": socket.group(1) if socket else None}


def load_with_httpx(port: int, ids: list[int], secret: str, seconds: int, connections: int) -> dict:
    """Fallback without wrk: threads of keep-alive httpx clients in this (second) process."""
    import random
    import threading

    import httpx

    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client():
        mine = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {secret}"}) as http:
            while time.perf_counter() < stop:
                t = time.perf_counter()
                ok = http.get(f"/api/v1/subscriptions/sub_{random.choice(ids)}").status_code == 200
                mine.append(time.perf_counter() - t)
                if not ok:
                    with lock:
                        failures[0] += 1
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    workers = [threading.Thread(target=client) for _ in range(connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000, 2)

    return {"tool": "httpx", "requests_per_second": round(len(latencies) / elapsed, 1), "requests": len(latencies),
            "latency_ms": {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99)}, "non_2xx": failures[0]}


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a PostgreSQL URL to (re)create; default: a temporary SQLite file")
    parser.add_argument("--subscriptions", type=int, default=200)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--port", type=int, default=18742)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="assina-api-reads-"))
    if args.database:
        import psycopg

        base, name = args.database.rsplit("/", 1)
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = args.database
    else:
        url = f"sqlite:///{tmp / 'bench.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSINA_", "DJANGO_"))}
    env.update(ASSINA_DATABASE_URL=url, ASSINA_MODE="sandbox", PYTHONPATH=str(ROOT / "src"))
    ids, secret = prepare(env, args.subscriptions)
    server = start_server(env, args.port, args.workers, args.threads)
    try:
        if shutil.which("wrk"):
            subprocess.run(["wrk", "-t1", "-c4", "-d2s", "-H", f"Authorization: Bearer {secret}",
                            f"http://127.0.0.1:{args.port}/api/v1/subscriptions/sub_{ids[0]}"], capture_output=True)
        cpu_before = _cpu_seconds(server.pid)
        if shutil.which("wrk"):
            result = load_with_wrk(args.port, ids, secret, args.seconds, args.connections, 2)
        else:
            result = load_with_httpx(args.port, ids, secret, args.seconds, args.connections)
        server_cpu = _cpu_seconds(server.pid) - cpu_before
        # What the server spends per request, whatever else the machine is running: on an idle
        # machine its cores divided by this is the most the server can answer (the load
        # generator shares the same cores, so a measured figure stays below it).
        result["server_cpu_ms_per_request"] = round(server_cpu * 1000 / max(1, result["requests"]), 3)
        result["server_capacity_per_idle_core"] = round(1000 / max(1e-9, result["server_cpu_ms_per_request"]))
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    engine = "postgresql" if args.database else "sqlite"
    print(json.dumps({"benchmark": "api_reads", "endpoint": "GET /api/v1/subscriptions/{id}", "engine": engine,
                      "server": f"gunicorn gthread, {args.workers} workers x {args.threads} threads",
                      "connections": args.connections, "seconds": args.seconds, "subscriptions": len(ids), **result,
                      "target": {"requests_per_second": 1000, "p99_ms": 50},
                      "cpus": os.cpu_count(), "load_average_after": os.getloadavg()[0]}, indent=2))


if __name__ == "__main__":
    main()
