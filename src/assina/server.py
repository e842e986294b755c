"""``assina serve``: the web app (waitress) with an embedded worker thread, for one machine."""

from __future__ import annotations

import threading


def serve(*, host: str = "127.0.0.1", port: int = 8000, worker: bool = True) -> None:
    from waitress import serve as waitress_serve

    import assina.urls  # noqa: F401 - the URLs and the admin's modules now, not on the first request
    from assina.wsgi import application

    stop = threading.Event()
    if worker:
        from assina.worker import run_worker

        threading.Thread(target=run_worker, kwargs={"stop": stop}, name="assina-worker", daemon=True).start()
    from django.utils.translation import gettext as _

    print(_("Assina is running on http://%(host)s:%(port)s/ (Ctrl+C to stop)") % {"host": host, "port": port}, flush=True)
    try:
        waitress_serve(application, host=host, port=port, threads=8)
    finally:
        stop.set()
