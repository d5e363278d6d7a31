"""Security headers on the main pages, and templates the strict Content-Security-Policy can run:
no inline script, no inline event handler, no style attribute or <style> element."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "maillage"


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def _assert_headers(response):
    policy = _policy(response)
    assert policy["default-src"] == ["'self'"]
    for directive in ("script-src", "style-src"):
        assert policy[directive] == ["'self'"], policy
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/comptes/login/", "/sante/", "/carte/"])
def test_public_pages_carry_the_headers(client, url):
    response = client.get(url)
    assert response.status_code in (200, 302)
    _assert_headers(response)


@pytest.mark.django_db
def test_advisor_pages_carry_the_headers(client, territory):
    client.force_login(territory["advisor77"])
    for url in ("/", "/etablissements/", "/carte/", "/tableau-de-bord/", "/marche/"):
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_headers(response)


def test_tile_server_is_allowed_for_images_only():
    code = (
        "import django, os; django.setup(); from django.conf import settings; "
        "print(settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['img-src'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={
            **os.environ,
            "PYTHONPATH": str(SRC.parent),
            "DJANGO_SETTINGS_MODULE": "maillage.config.settings",
            "MAILLAGE_TILE_URL": "https://{s}.tuiles.example.org/{z}/{x}/{y}.png",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    assert "https://*.tuiles.example.org" in result.stdout


TEMPLATES = sorted(SRC.rglob("templates/**/*.html"))
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
HANDLER = re.compile(r"\son[a-z]+\s*=", re.I)
STYLE = re.compile(r"\sstyle\s*=|<style[\s>]", re.I)


def test_templates_were_found():
    assert len(TEMPLATES) > 50


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(SRC)))
def test_template_needs_no_unsafe_inline(path):
    text = path.read_text()
    problems = [
        f"{name}: {match.group().strip()}"
        for name, pattern in (
            ("inline script", INLINE_SCRIPT),
            ("handler", HANDLER),
            ("style", STYLE),
        )
        for match in pattern.finditer(text)
    ]
    assert not problems, problems
