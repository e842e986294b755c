"""The production gunicorn settings: two threads per worker, and a worker that already has more
connections than threads pauses after an accept so that an idle sibling takes the next one."""

from __future__ import annotations

from types import SimpleNamespace

from assina.api import gunicorn_conf


class FakeGthreadWorker:
    """What ``_share_new_connections`` relies on in gunicorn's gthread worker."""

    def __init__(self, threads: int) -> None:
        self.cfg = SimpleNamespace(threads=threads)
        self.nr_conns = 0
        self.accepted: list[object] = []

    def accept(self, listener):
        self.accepted.append(listener)
        self.nr_conns += 1


def test_two_threads_per_worker_by_default():
    assert gunicorn_conf.threads == 2 and gunicorn_conf.worker_class == "gthread"


def test_a_worker_pauses_after_an_accept_only_once_it_has_more_connections_than_threads(monkeypatch):
    pauses: list[float] = []
    monkeypatch.setattr("time.sleep", pauses.append)
    worker = FakeGthreadWorker(threads=2)
    gunicorn_conf._share_new_connections(worker)
    for listener in range(4):
        worker.accept(listener)
    assert worker.accepted == [0, 1, 2, 3]  # every connection is still accepted
    # The first two fit the worker's threads; the third and fourth are each followed by a pause.
    assert pauses == [gunicorn_conf.ACCEPT_PAUSE_SECONDS] * 2


def test_other_worker_classes_are_left_alone():
    worker = SimpleNamespace(cfg=SimpleNamespace(threads=1))  # e.g. a sync worker: no nr_conns
    gunicorn_conf._share_new_connections(worker)
    assert not hasattr(worker, "accept")
