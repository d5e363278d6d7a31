"""Issue 17.8: a platform superuser sees an SME's export request but cannot withdraw it (only the
SME's side does), on the web and in the API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from maillage.accounts.tokens import create_token
from maillage.directory.models import ExportContactRequest
from tests.directory.test_export_requests import world  # noqa: F401 (fixture)
from tests.factories import SuperuserFactory

pytestmark = pytest.mark.django_db


def test_superuser_cannot_withdraw_on_the_web(client, world):  # noqa: F811
    req = world["req"]
    client.force_login(SuperuserFactory(username="root"))
    detail = client.get(reverse("export-request", args=[req.pk]))
    assert detail.status_code == 200
    assert "Retirer ma demande" not in detail.content.decode()
    assert client.post(reverse("export-withdraw", args=[req.pk])).status_code == 403
    req.refresh_from_db()
    assert req.status == ExportContactRequest.Status.PENDING and req.withdrawn_at is None


def test_superuser_cannot_withdraw_through_the_api(client, world):  # noqa: F811
    req = world["req"]
    root = SuperuserFactory(username="root")
    r = client.post(
        f"/api/export-requests/{req.pk}/withdraw",
        content_type="application/json",
        headers={"Authorization": f"Bearer {create_token(root, 'test')}"},
    )
    assert r.status_code == 403
    assert r.json()["detail"] == "Seule l'entreprise qui a fait la demande peut la retirer."
    req.refresh_from_db()
    assert req.status == ExportContactRequest.Status.PENDING
