"""gunicorn settings for serving Assina's web app (admin, dashboard, /api/v1) under load.

    gunicorn -c python:assina.api.gunicorn_conf assina.wsgi
    assina worker            # due work runs in its own process(es) with gunicorn

``assina serve`` (waitress with an embedded worker thread) stays the one-command way for one
small machine; this is the production way: several processes, persistent database connections.
Environment: ASSINA_API_BIND (127.0.0.1:8000), ASSINA_API_WORKERS (number of CPUs),
ASSINA_API_THREADS (2), ASSINA_API_WORKER_CLASS (gthread), ASSINA_API_CONN_MAX_AGE (seconds a database connection is kept, 600).
"""

import os

bind = os.environ.get("ASSINA_API_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("ASSINA_API_WORKERS", str(os.cpu_count() or 2)))
# gthread keeps HTTP connections alive between requests, and a kept connection stays with the
# worker that accepted it: with a few clients, most connections often land on one worker (16
# client connections were seen split 16/0 and 15/1 between 2 workers). With one thread, that
# worker then answers one request at a time, idle while the database answers, and reads of
# subscriptions on PostgreSQL fell to about 850/s in half the runs. Two threads per worker
# overlap one request's database wait with another's Python: 1,750–1,810 requests/s in every
# run, and less CPU per request (0.83 against 1.0 ms; SQLite: 3,250 against 1,500 requests/s).
# More threads fight over the GIL (4 threads cost 2.3 ms of CPU per read against 1.5 with one).
worker_class = os.environ.get("ASSINA_API_WORKER_CLASS", "gthread")
threads = int(os.environ.get("ASSINA_API_THREADS", "2"))
keepalive = 30
# Request lines up to gunicorn's maximum, so that the API itself answers a URL over its limit
# with a 414 problem (assina.api.http_limits); headers keep gunicorn's caps (100 fields of at
# most 8,190 bytes each).
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = os.environ.get("ASSINA_API_ACCESS_LOG") or None
loglevel = os.environ.get("ASSINA_LOG_LEVEL", "warning").lower()


def post_worker_init(worker):
    """Keep database connections between requests in this long-lived process.

    The settings open a connection per request (right for ``assina serve`` and the CLI); a
    gunicorn worker serving hundreds of requests a second would spend more time connecting to
    PostgreSQL than answering. No health check query before each request (a round trip per
    request): a connection that failed is closed by Django at the end of that request.
    """
    from django.apps import apps
    from django.db import connections

    if not apps.ready:
        return  # this worker serves an app without Django (bench/api_reads.py's bare-WSGI peer)
    config = connections.settings["default"]
    config["CONN_MAX_AGE"] = int(os.environ.get("ASSINA_API_CONN_MAX_AGE", "600"))
    config["CONN_HEALTH_CHECKS"] = False

    from assina.api.http_limits import install_in_gunicorn

    install_in_gunicorn(worker)
    _share_new_connections(worker)


# After accepting a connection, a gthread worker that has more connections than threads pauses
# this long before it looks for the next one, so that an idle sibling (woken by the same
# listening socket, but waiting for a core) takes it. Kept-alive connections stay with the worker
# that accepted them: a burst of 16 connections from one client was seen landing 16/0 on two
# workers, and that worker then served alone (PostgreSQL reads: ~870 against ~1,800/s).
ACCEPT_PAUSE_SECONDS = 0.0002


def _share_new_connections(worker) -> None:
    import time

    accept = getattr(worker, "accept", None)
    if accept is None or not hasattr(worker, "nr_conns"):
        return  # not a gthread worker

    def accept_then_share(*args, **kwargs):
        accept(*args, **kwargs)
        if worker.nr_conns > worker.cfg.threads:
            time.sleep(ACCEPT_PAUSE_SECONDS)

    worker.accept = accept_then_share
