"""French error pages with the site's navigation; anonymous visitors following a shared link get
the login page; the audit log explains its 403."""

from __future__ import annotations

import pytest
from django.template import loader
from django.test import RequestFactory
from django.urls import reverse
from django.views import defaults

pytestmark = pytest.mark.django_db


def test_404_is_french_with_navigation(client, territory):
    client.force_login(territory["company77"])
    r = client.get("/cette-page-n-existe-pas/")
    html = r.content.decode()
    assert r.status_code == 404
    assert "Page introuvable" in html and "Retour à l" in html
    assert 'href="/evenements/"' in html  # the signed-in navigation
    assert "Not Found" not in html


def test_500_renders_without_a_request_context():
    # Django's handler renders 500.html with an empty context: the layout must hold.
    html = loader.get_template("500.html").render()
    assert "Erreur du serveur" in html and "<nav>" in html
    r = defaults.server_error(RequestFactory().get("/"))
    assert r.status_code == 500 and "Erreur du serveur" in r.content.decode()


def test_audit_log_403_is_explained(client, territory):
    client.force_login(territory["advisor78"])
    r = client.get(reverse("audit-log"))
    html = r.content.decode()
    assert r.status_code == 403
    assert "Accès refusé" in html and "réservé aux administrateurs de la chambre" in html
    assert "403 Forbidden" not in html
    client.force_login(territory["admin78"])
    assert client.get(reverse("audit-log")).status_code == 200


def test_anonymous_shared_link_leads_to_login_not_404(client, territory):
    url = reverse("establishment-detail", args=[territory["e78"].pk])
    r = client.get(url)
    assert r.status_code == 302
    assert r["Location"] == f"{reverse('login')}?next={url}"
    # A missing id looks the same to an anonymous visitor: existence is not confirmed.
    missing = reverse("establishment-detail", args=[999999])
    assert client.get(missing)["Location"] == f"{reverse('login')}?next={missing}"
    # Signed in without the right: still 404 (French), not a login loop.
    client.force_login(territory["company77"])
    r = client.get(url)
    assert r.status_code == 404 and "Page introuvable" in r.content.decode()
    # Machine endpoints and unknown routes keep their 404.
    client.logout()
    assert client.get("/nulle-part/").status_code == 404
