"""Reading what a test client's page request returns."""

from __future__ import annotations


def html_of(response) -> str:
    """The page's HTML, checked for the marker of an undefined template variable (the strict
    templates of the test settings, MAILLAGE_STRICT_TEMPLATES)."""
    html = response.content.decode()
    assert "INVALID[" not in html
    return html
