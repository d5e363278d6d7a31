"""`make serve` (bin/serve) for real: gunicorn with two workers and a task worker on the suite's
database; the health check answers, static files come hashed and cached from WhiteNoise, a queued
task is run by the worker, the logs are JSON lines, and SIGTERM stops every process."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from django_tasks_db.models import DBTaskResult

from tests.operations.tasks import add

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url() -> str:
    conf = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{conf['NAME']}"
    auth = conf["USER"] + (f":{conf['PASSWORD']}" if conf["PASSWORD"] else "")
    return f"postgres://{auth}@{conf['HOST'] or '127.0.0.1'}:{conf['PORT'] or 5432}/{conf['NAME']}"


def _get(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_make_serve_runs_gunicorn_and_task_workers(tmp_path):
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PY": sys.executable,
        "DATABASE_URL": _database_url(),
        "MAILLAGE_VAR_DIR": str(tmp_path),
        "STATIC_ROOT": str(tmp_path / "static"),
        "MAILLAGE_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "MAILLAGE_TASK_WORKERS": "1",
        "LOG_FORMAT": "json",
    }
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(ROOT / "bin" / "serve")],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        status = None
        while time.monotonic() < deadline:
            assert process.poll() is None, log.read_text()
            try:
                status, _, body = _get(f"{base}/sante/")
                break
            except OSError:
                time.sleep(0.5)
        assert status == 200, log.read_text()
        assert json.loads(body)["status"] == "ok"

        # Static files: hashed names in the pages, served by WhiteNoise with a long cache.
        status, _, page = _get(f"{base}/comptes/login/")
        assert status == 200
        css = re.search(rb'href="(/static/maillage/maillage\.[0-9a-f]{12}\.css)"', page)
        assert css, page[:2000]
        status, headers, _ = _get(base + css.group(1).decode())
        assert status == 200
        assert "immutable" in headers["Cache-Control"]

        # The task worker started beside gunicorn runs what the web queues.
        result = add.enqueue(2, 3)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            row = DBTaskResult.objects.get(pk=result.id)
            if row.status != "READY" and row.status != "RUNNING":
                break
            time.sleep(0.5)
        assert row.status == "SUCCESSFUL", log.read_text()
        assert row.return_value == 5
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=45)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
        deadline = time.monotonic() + 15
        while _alive(process.pid) and time.monotonic() < deadline:
            time.sleep(0.3)
        leftover = _alive(process.pid)
        if leftover:
            os.killpg(process.pid, signal.SIGKILL)
    assert not leftover, "SIGTERM left processes running"
    assert process.returncode == 0, log.read_text()

    records = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    booted = [r for r in records if r["message"].startswith("Booting worker")]
    assert len(booted) == 2
    assert any(r["logger"] == "maillage.request" and r["route"] == "/sante/" for r in records)
    assert any(r["logger"] == "django_tasks_db" for r in records)
