"""A real Celery worker process takes a task from the broker and completes it.

The embedded default (kombu's filesystem transport) always runs; Redis runs where CELERY_BROKER_URL
points at it (CI sets it), and is skipped with the reason elsewhere.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery

from conftest import REDIS_BROKER_URL

ROOT = Path(__file__).resolve().parent.parent


def run_worker_and_ping(env: dict, app: Celery) -> str:
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "billing_site", "worker", "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        result = app.send_task("billing_site.tasks.ping", args=["hello-from-test"])
        return result.get(timeout=60)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_worker_completes_a_task_on_the_embedded_filesystem_broker(tmp_path, monkeypatch):
    # Celery lets CELERY_BROKER_URL in the environment override an app's broker: clear it here.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.delenv("CELERY_RESULT_BACKEND", raising=False)
    env = {**os.environ, "BROKER_DIR": str(tmp_path), "DEBUG": "1"}
    env.pop("CELERY_BROKER_URL", None)
    env.pop("CELERY_RESULT_BACKEND", None)
    for folder in ("queue", "processed", "results"):
        (tmp_path / folder).mkdir()
    app = Celery("probe", broker="filesystem://", backend=f"file://{tmp_path / 'results'}")
    app.conf.broker_transport_options = {
        "data_folder_in": str(tmp_path / "queue"), "data_folder_out": str(tmp_path / "queue"),
        "processed_folder": str(tmp_path / "processed"), "store_processed": False,
    }
    started = time.monotonic()
    assert run_worker_and_ping(env, app) == "hello-from-test"
    assert time.monotonic() - started < 60


@pytest.mark.skipif(
    not REDIS_BROKER_URL.startswith("redis://"),
    reason="CELERY_BROKER_URL does not point at Redis (CI sets it); the embedded broker is tested above",
)
def test_worker_completes_a_task_on_redis():
    url = REDIS_BROKER_URL
    env = {**os.environ, "DEBUG": "1", "CELERY_BROKER_URL": url, "CELERY_RESULT_BACKEND": url}
    app = Celery("probe", broker=url, backend=url)
    assert run_worker_and_ping(env, app) == "hello-from-test"
