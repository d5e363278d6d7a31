"""Countries are typed by their French names (codes still accepted), stored as ISO 3166 alpha-2,
and shown back as French names with autocompletion (issue 16 point 7)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from maillage.accounts.models import User
from maillage.directory.models import ExportProject
from maillage.directory.selectors import country_code, country_codes
from tests.directory.factories import ExportAdvisorFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "typed, code",
    [
        ("Maroc", "MA"),
        ("maroc", "MA"),
        ("  MAROC ", "MA"),
        ("Viêt Nam", "VN"),
        ("viet nam", "VN"),
        ("Allemagne", "DE"),
        ("États-Unis", "US"),
        ("etats unis", "US"),
        ("Côte d'Ivoire", "CI"),
        ("Morocco", "MA"),
        ("MA", "MA"),
        ("vn", "VN"),
        ("MAR", "MA"),
    ],
)
def test_country_names_and_codes(typed, code):
    assert country_code(typed) == code


def test_unknown_countries_are_named_in_french():
    assert country_code("Atlantide") is None
    with pytest.raises(ValidationError) as exc:
        country_codes(["Maroc", "Atlantide", "", "Zembla"])
    assert exc.value.message_dict["countries"] == [
        "Pays inconnu : « Atlantide », « Zembla ». Tapez le nom du pays en français (ex. Maroc, "
        "Viêt Nam) ou son code ISO (MA, VN)."
    ]
    assert country_codes(["Tunisie", "Maroc", "MA", " "]) == ["MA", "TN"]


def test_export_project_takes_french_names_with_autocompletion(client, territory):
    sme = territory["e77"]
    url = reverse("export-project", args=[sme.pk])
    client.force_login(territory["company77"])
    html = client.get(url).content.decode()
    assert 'list="country-names"' in html and '<option value="Maroc">MA</option>' in html
    r = client.post(url, {"countries": "Maroc, Viêt Nam", "sectors": ["agrifood"]})
    assert r.status_code == 302
    assert ExportProject.objects.get(establishment=sme).countries == ["MA", "VN"]
    assert 'value="Maroc, Viêt Nam"' in client.get(url).content.decode()
    # A typo: a French message, the typed text kept, nothing changed.
    html = client.post(url, {"countries": "Maroc, Tunisiee"}).content.decode()
    assert "Pays inconnu : « Tunisiee »" in html and 'value="Maroc, Tunisiee"' in html
    assert ExportProject.objects.get(establishment=sme).countries == ["MA", "VN"]


def test_export_advisor_types_french_country_names(client, make_user):
    user = make_user("cce", User.Role.EXPORT_ADVISOR)
    advisor = ExportAdvisorFactory(
        user=user, name="Karim", organisation="Atlas Conseil", countries=["MA"], languages=["fr"]
    )
    url = reverse("export-advisor-profile")
    client.force_login(user)
    html = client.get(url).content.decode()
    assert 'value="Maroc"' in html and 'list="country-names"' in html
    r = client.post(
        url, {"countries": "Maroc, Tunisie, Algérie", "languages": "fr", "sectors": ["agrifood"]}
    )
    assert r.status_code == 302, [ln for ln in r.content.decode().splitlines() if "error" in ln]
    advisor.refresh_from_db()
    assert advisor.countries == ["DZ", "MA", "TN"]
