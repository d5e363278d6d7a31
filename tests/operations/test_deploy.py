"""`manage.py check --deploy` is clean with the production settings of docs/operations.md, and
does complain when they are missing (so the first test can fail)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION = {
    "DEBUG": "false",
    "ALLOWED_HOSTS": "maillage.cci-exemple.fr",
    "CSRF_TRUSTED_ORIGINS": "https://maillage.cci-exemple.fr",
    "MAILLAGE_BASE_URL": "https://maillage.cci-exemple.fr",
    "MAILLAGE_HTTPS": "true",
}


def _check_deploy(tmp_path: Path, extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SECURE_", "SESSION_", "CSRF_", "MAILLAGE_", "DJANGO_"))
        and key not in ("DEBUG", "ALLOWED_HOSTS", "SECRET_KEY")
    }
    env.update(
        PYTHONPATH=str(ROOT / "src"),
        MAILLAGE_VAR_DIR=str(tmp_path),
        SECRET_KEY=secrets.token_urlsafe(50),
        **extra,
    )
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = _check_deploy(tmp_path, PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_check_deploy_warns_without_https_settings(tmp_path):
    plain = {k: v for k, v in PRODUCTION.items() if k != "MAILLAGE_HTTPS"}
    result = _check_deploy(tmp_path, plain)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    for code in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert code in output, output


def test_debug_on_is_reported(tmp_path):
    result = _check_deploy(tmp_path, {**PRODUCTION, "DEBUG": "true"})
    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr
