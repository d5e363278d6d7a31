"""Export advisors and clusters: an SME targeting Morocco and Vietnam in agri-food sees the
advisors for those countries first, with why; contact requests; who may see what."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from maillage.accounts.models import User
from maillage.directory.models import (
    ExportAdvisor,
    ExportContactRequest,
    ExportProject,
)
from tests.directory.factories import ClusterFactory, ClusterProgrammeFactory, ExportAdvisorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def cce(territory, make_user):
    def advisor(username, name, countries, sectors, languages=("fr",)):
        user = make_user(username, User.Role.EXPORT_ADVISOR)
        user.email = f"{username}@cce.test"
        user.save()
        return ExportAdvisorFactory(
            user=user,
            name=name,
            organisation="Export SA",
            countries=countries,
            sectors=sectors,
            languages=list(languages),
        )

    germany = advisor("cce_de", "Anne Allemagne", ["DE"], ["agrifood"])
    morocco = advisor("cce_ma", "Karim Maroc", ["MA"], ["agrifood"], ("fr", "ar"))
    both = advisor("cce_mavn", "Linh Maroc-Vietnam", ["MA", "VN"], ["agrifood", "industry"])
    vietnam = advisor("cce_vn", "Minh Vietnam", ["VN"], ["energy"])
    cluster = ClusterFactory(name="Pôle Agri Sud-Ouest", sectors=["agrifood"])
    ClusterProgrammeFactory(cluster=cluster, title="Agri Maghreb", countries=["MA", "TN"])
    territory["company77"].email = "co77@example.test"
    territory["company77"].save()
    return {**territory, "advisors": (germany, morocco, both, vietnam), "cluster": cluster}


def test_sme_targeting_morocco_and_vietnam_sees_those_advisors_first(client, cce):
    sme = cce["e77"]
    client.force_login(cce["company77"])
    url = reverse("export-project", args=[sme.pk])
    r = client.post(url, {"countries": "MA, vn", "sectors": ["agrifood"]})
    assert r.status_code == 302
    assert ExportProject.objects.get(establishment=sme).countries == ["MA", "VN"]
    html = client.get(url).content.decode()
    order = [html.index(n) for n in ("Linh Maroc-Vietnam", "Karim Maroc", "Minh Vietnam")]
    assert order == sorted(order)
    assert html.index("Minh Vietnam") < html.index("Anne Allemagne")
    assert "connaît Maroc, Viêt Nam" in html and "secteur agroalimentaire" in html
    assert "programme international : Maroc" in html  # the cluster, with why
    assert "cce_mavn@cce.test" not in html  # no e-mail before acceptance


def test_bad_country_code_is_refused_in_french(client, cce):
    client.force_login(cce["company77"])
    url = reverse("export-project", args=[cce["e77"].pk])
    r = client.post(url, {"countries": "XX"}, follow=True)
    assert not ExportProject.objects.exists()
    client.post(url, {"countries": "VN", "sectors": ["agrifood"]})
    r = client.post(url, {"countries": "MA, XX", "sectors": ["energy"]}, follow=True)
    assert "Pays inconnu : « XX »" in r.content.decode()
    project = ExportProject.objects.get()
    assert (project.countries, project.sectors) == (["VN"], ["agrifood"])
    with pytest.raises(ValidationError):
        ExportAdvisor(user=cce["company78"], name="x", countries=["ZZ"]).full_clean()


def test_contact_request_accept_reveals_email(client, cce, django_capture_on_commit_callbacks):
    sme, both = cce["e77"], cce["advisors"][2]
    client.force_login(cce["company77"])
    url = reverse("export-project", args=[sme.pk])
    client.post(url, {"countries": "MA, VN", "sectors": ["agrifood"]})
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("export-contact", args=[sme.pk, both.pk]), {"message": "Export au Maroc"}
        )
    req = ExportContactRequest.objects.get()
    assert (req.countries, req.sectors, req.message) == (
        ["MA", "VN"],
        ["agrifood"],
        "Export au Maroc",
    )
    assert mail.outbox[-1].to == ["cce_mavn@cce.test"]
    detail = reverse("export-request", args=[req.pk])
    # Another advisor cannot see nor answer it; the right one can.
    client.force_login(cce["advisors"][0].user)
    assert client.get(detail).status_code == 404
    answer = reverse("export-answer", args=[req.pk])
    assert client.post(answer, {"answer": "accept"}).status_code == 404
    client.force_login(both.user)
    page = client.get(detail).content.decode()
    assert "Scierie de Melun-Test" in page and "Export au Maroc" in page
    assert "Maroc, Viêt Nam" in page and "agroalimentaire" in page
    assert "co77@example.test" not in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(answer, {"answer": "accept", "message": "Appelez-moi mardi"})
    req.refresh_from_db()
    assert (req.status, req.answer, req.answered_by) == ("accepted", "Appelez-moi mardi", both.user)
    assert "co77@example.test" in client.get(detail).content.decode()
    assert mail.outbox[-1].to == ["co77@example.test"]
    client.force_login(cce["company77"])
    html = client.get(url).content.decode()
    assert "cce_mavn@cce.test" in html and "Appelez-moi mardi" in html


def test_who_may_see_an_export_project(client, cce):
    url = reverse("export-project", args=[cce["e77"].pk])
    r = client.get(url)
    assert r.status_code == 302 and "/comptes/login/" in r.url
    for who in ("company78", "advisor78", "admin78"):
        client.force_login(cce[who])
        assert client.get(url).status_code == 404, who
        assert (
            client.post(reverse("export-contact", args=[cce["e77"].pk, cce["advisors"][0].pk]))
        ).status_code == 404
    assert not ExportContactRequest.objects.exists()
    client.force_login(cce["advisor77"])  # the SME's chamber
    assert client.get(url).status_code == 200
    # The public directory shows no e-mail address.
    client.force_login(cce["company78"])
    html = client.get(reverse("export-directory")).content.decode()
    assert "Karim Maroc" in html and "@cce.test" not in html


def test_directory_queries_do_not_grow_per_row(client, cce, django_assert_max_num_queries):
    client.force_login(cce["company77"])
    client.post(
        reverse("export-project", args=[cce["e77"].pk]),
        {"countries": "MA", "sectors": ["agrifood"]},
    )
    with django_assert_max_num_queries(12):
        client.get(reverse("export-directory"))
    with django_assert_max_num_queries(15):
        client.get(reverse("export-project", args=[cce["e77"].pk]))


def test_advisor_directory_queries_do_not_grow_with_the_chamber(
    client, cce, make_establishment, django_assert_max_num_queries
):
    """An advisor's page lists the establishments whose export project they may manage: the
    policy reads each one's chamber, which must come with the list, not one query per row."""
    commune = cce["e77"].commune_id
    for n in range(30):
        make_establishment(commune, name=f"Atelier {n:02d}")
    client.force_login(cce["advisor77"])
    with django_assert_max_num_queries(12):
        response = client.get(reverse("export-directory"))
    assert "Atelier 29" in response.content.decode()
