"""gunicorn settings for serving Assina's web app (admin, dashboard, /api/v1) under load.

    gunicorn -c python:assina.api.gunicorn_conf assina.wsgi
    assina worker            # due work runs in its own process(es) with gunicorn

``assina serve`` (waitress with an embedded worker thread) stays the one-command way for one
small machine; this is the production way: several processes, persistent database connections.
Environment: ASSINA_API_BIND (127.0.0.1:8000), ASSINA_API_WORKERS (number of CPUs),
ASSINA_API_THREADS (1), ASSINA_API_WORKER_CLASS (gthread), ASSINA_API_CONN_MAX_AGE (seconds a database connection is kept, 600).
"""

import os

bind = os.environ.get("ASSINA_API_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("ASSINA_API_WORKERS", str(os.cpu_count() or 2)))
# gthread keeps HTTP connections alive between requests. One thread per process by default:
# measured on 2 cores, 4 threads per worker cost 2.3 ms of CPU per subscription read against
# 1.5 ms with one (the threads fight over the GIL); use more processes rather than threads.
worker_class = os.environ.get("ASSINA_API_WORKER_CLASS", "gthread")
threads = int(os.environ.get("ASSINA_API_THREADS", "1"))
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
    from django.db import connections

    config = connections.settings["default"]
    config["CONN_MAX_AGE"] = int(os.environ.get("ASSINA_API_CONN_MAX_AGE", "600"))
    config["CONN_HEALTH_CHECKS"] = False

    from assina.api.http_limits import install_in_gunicorn

    install_in_gunicorn(worker)
