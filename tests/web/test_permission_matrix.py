"""Permission matrix: every page and every API endpoint of the project, requested by outsiders.

A "secret" establishment of chamber A (its name, SIRET, contact and an exact quantity) must never
appear in what another chamber's advisor or administrator, another company, a network animator
or an anonymous visitor receives. Each of them gets 401/403/404/405, a redirect (to the login
page or elsewhere), or a page/JSON that the policy allows, which is then searched for the secrets.

Coverage is automatic:
- pages: every pattern of the URL resolver (``iter_patterns``), so pages added later by any app
  are requested too, with GET and with an empty POST;
- API: every operation of the django-ninja OpenAPI schema, with its method, by session and by a
  personal token.

How to register a page (only needed when the defaults below do not fit):
- URL kwargs are filled by name from ``KWARG_CANDIDATES`` (e.g. ``pk`` is tried with the id of
  every secret object: establishment, flow, visit, suggestion, contact, detection run, audit
  entry, user…). For a kwarg with another name, or to test specific objects, add an entry to
  ``URL_KWARGS``: ``"your-url-name": lambda w: [{"kwarg": value}, ...]`` (``w`` is the ``World``
  below; add the secret objects your app owns to ``World`` if they are not there yet).
- A page that must be skipped (e.g. it only logs out) goes into ``SKIP`` with the reason.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter, PathConverter, SlugConverter, StringConverter

from maillage.accounts.models import AuditLog, User
from maillage.accounts.tokens import create_token
from maillage.directory.models import Contact
from maillage.directory.services import request_export_contact
from maillage.synergies import services
from maillage.synergies.models import Suggestion
from tests.accounts.factories import AuditLogFactory
from tests.directory.factories import (
    ClusterFactory,
    ContactFactory,
    ExportAdvisorFactory,
    ExportProjectFactory,
)
from tests.factories import DataSharingAgreementFactory, FlowFactory
from tests.flows.factories import VisitFactory
from tests.networks.factories import MembershipFactory, NetworkFactory
from tests.synergies.factories import DetectionRunFactory

pytestmark = pytest.mark.django_db

SECRET_NAME = "Secret Alpha"
SECRET_QUANTITY = ("4217.375", "4217,375", "4\u202f217,375", "4 217,375")
SECRET_EMAIL = "direction@secret-alpha.example"


@dataclass
class World:
    secret: object  # the establishment of chamber A nobody else may see
    others: dict  # outsiders: role → user (None for anonymous)
    ids: dict = field(default_factory=dict)  # kind → id of a secret object
    secrets: tuple = ()


# url name → function(World) → list of kwargs dicts to request.
URL_KWARGS: dict[str, Callable[[World], list[dict]]] = {
    "import-template": lambda w: [{"kind": "etablissements"}, {"kind": "flux"}],
    "password_reset_confirm": lambda w: [{"uidb64": "MQ", "token": "set-password"}],
}
# kwarg name → function(World) → candidate values (used when the page is not in URL_KWARGS).
KWARG_CANDIDATES: dict[str, Callable[[World], list]] = {
    "pk": lambda w: sorted(set(w.ids.values())),
    "object_id": lambda w: sorted({str(v) for v in w.ids.values()}),
    "establishment_id": lambda w: [w.ids["establishment"]],
    "suggestion_id": lambda w: [w.ids["suggestion"]],
    "flow_id": lambda w: [w.ids["flow"]],
    "visit_id": lambda w: [w.ids["visit"]],
    "advisor_pk": lambda w: [w.ids["export_advisor"]],
    "cluster_pk": lambda w: [w.ids["cluster"]],
}
SKIP = {
    "logout": "only ends the session",
    "admin:logout": "only ends the session",
    "set_language": "only sets a cookie",
}
# What a converter gets when no candidate is registered for its kwarg.
CONVERTER_DEFAULTS = {
    IntConverter: lambda w: sorted(set(w.ids.values())),
    StringConverter: lambda w: ["x"],
    SlugConverter: lambda w: ["x"],
    PathConverter: lambda w: ["x"],
}


@pytest.fixture
def world(make_chamber, make_establishment, make_user):
    chamber_a = make_chamber("cci-a", "77")
    chamber_b = make_chamber("cci-b", "78")
    secret = make_establishment(
        "77288", name=f"Scierie {SECRET_NAME}", latitude=48.54, longitude=2.66
    )
    partner = make_establishment(
        "77288", name="Chaufferie voisine", naf="35.30Z", latitude=48.55, longitude=2.65
    )
    contact = ContactFactory(
        establishment=secret, first_name="Anne", last_name="Secrète", email=SECRET_EMAIL
    )
    advisor_a = make_user("adv-a", User.Role.ADVISOR, chamber_a)
    visit = VisitFactory(establishment=secret, advisor=advisor_a, date="2025-03-01")
    flow = FlowFactory(
        establishment=secret,
        direction="offer",
        waste_code="03 01 05",
        quantity=SECRET_QUANTITY[0],
        unit="t",
        visit=visit,
        description="Sciure",
    )
    FlowFactory(
        establishment=partner, direction="need", resource_class="wood_fuel", quantity=900, unit="t"
    )
    # Chamber B has an establishment before detection runs (detection of an empty chamber fails
    # in engine.prospects: reported to the lead).
    other_est = make_establishment("78646", name="Boulangerie de B", naf="10.71C")
    services.detect()
    suggestion = Suggestion.objects.filter(offer_flow=flow).first()
    services.change_status(suggestion, advisor_a, "proposed")
    # no introduction on the platform: the agreement reached offline is stated
    services.change_status(
        suggestion,
        advisor_a,
        "discussion",
        "Accord des deux entreprises par téléphone",
        agreement_on=datetime.date.today(),
    )
    services.change_status(suggestion, advisor_a, "implemented", "", 4217.375, 1000.0)
    run = DetectionRunFactory(chamber=chamber_a, state="done", progress=100)
    audit = AuditLogFactory(user=advisor_a, establishment=secret, action="view_flows")
    owner = make_user("owner-a", User.Role.COMPANY, establishments=[secret])

    club = NetworkFactory(name="Club B", chamber=chamber_b)
    MembershipFactory(establishment=other_est, network=club, since="2024-01-01")
    animator = make_user("anim-b", User.Role.ANIMATOR)
    club.animators.add(animator)
    admin_b = make_user("adm-b", User.Role.CHAMBER_ADMIN, chamber_b)
    # The other chamber's administrator uses the back-office with every "view" permission.
    admin_b.is_staff = True
    admin_b.save()
    admin_b.user_permissions.set(Permission.objects.filter(codename__startswith="view_"))
    # The secret establishment asked an export advisor and a cluster for a contact; another
    # export advisor (also the contact of another cluster) must see neither request.
    ExportProjectFactory(establishment=secret, countries=["MA"], sectors=["agrifood"])
    cce_a = ExportAdvisorFactory(
        user=make_user("cce-a", User.Role.EXPORT_ADVISOR), name="CCE A", countries=["MA"]
    )
    cluster_a = ClusterFactory(
        name="Pôle A",
        sectors=["agrifood"],
        managers=[make_user("pole-a", User.Role.CLUSTER_MANAGER)],
    )
    export_request = request_export_contact(
        owner, secret, advisor=cce_a, message=f"Projet {SECRET_NAME}"
    )
    request_export_contact(owner, secret, cluster=cluster_a, message=f"Projet {SECRET_NAME}")
    other_cce = make_user("cce-b", User.Role.EXPORT_ADVISOR)
    ExportAdvisorFactory(user=other_cce, name="CCE B", countries=["MA"])
    ClusterFactory(name="Pôle B", managers=[other_cce])
    others = {
        "advisor of another chamber": make_user("adv-b", User.Role.ADVISOR, chamber_b),
        "another export advisor and cluster contact": other_cce,
        "administrator of another chamber": admin_b,
        "another company": make_user("co-b", User.Role.COMPANY, establishments=[other_est]),
        "network animator": animator,
        "anonymous": None,
    }
    ids = {
        "establishment": secret.pk,
        "flow": flow.pk,
        "visit": visit.pk,
        "suggestion": suggestion.pk,
        "contact": contact.pk,
        "run": run.pk,
        "audit": audit.pk,
        "owner": owner.pk,
        "advisor": advisor_a.pk,
        "chamber": chamber_a.pk,
        "export_request": export_request.pk,
        "export_advisor": cce_a.pk,
        "cluster": cluster_a.pk,
    }
    secrets = (SECRET_NAME, secret.siret, SECRET_EMAIL, "Secrète", *SECRET_QUANTITY)
    return World(secret=secret, others=others, ids=ids, secrets=secrets)


def iter_patterns(resolver=None, prefix="", namespace=""):
    """(route, url name, converters) of every pattern, namespaces included (the API's are
    covered from its OpenAPI schema instead)."""
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace or ""
            if ns == "api":
                continue
            full_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from iter_patterns(p, prefix + str(p.pattern), full_ns)
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if namespace and p.name else p.name
            converters = getattr(p.pattern, "converters", {})
            yield prefix + str(p.pattern), name, converters


ADMIN_MODELS = {
    "establishment": "establishment",
    "flow": "flow",
    "visit": "visit",
    "suggestion": "suggestion",
    "contact": "contact",
    "detectionrun": "run",
    "auditlog": "audit",
    "user": "owner",
    "chamber": "chamber",
    "cluster": "cluster",
    "exportadvisor": "export_advisor",
}


def admin_object_id(name: str, w: World):
    """The secret object of the admin page's model (``admin:<app>_<model>_<view>``)."""
    model = name.split(":", 1)[1].split("_")[1]
    return w.ids[ADMIN_MODELS.get(model, "establishment")]


def urls_for(route: str, name: str | None, converters: dict, w: World) -> list[str]:
    """Concrete URLs for a route: regex routes are resolved through reverse() by name."""
    from django.urls import NoReverseMatch, reverse

    if name in URL_KWARGS:
        kwargs_list = URL_KWARGS[name](w)
    elif name and name.startswith("admin:") and "object_id" in converters:
        kwargs_list = [{"object_id": str(admin_object_id(name, w))}]
    else:
        kwargs_list = [{}]
        for kwarg, converter in converters.items():
            values = KWARG_CANDIDATES.get(kwarg, CONVERTER_DEFAULTS.get(type(converter)))
            if values is None:
                values = lambda w: ["x"]  # noqa: E731 - a custom converter: try a plain value
            kwargs_list = [{**k, kwarg: v} for k in kwargs_list for v in values(w)]
    urls = []
    for kwargs in kwargs_list:
        if name:
            try:
                urls.append(reverse(name, kwargs=kwargs))
                continue
            except NoReverseMatch:
                pass
        if "(?P" in route or "^" in route:
            continue  # a regex route we cannot build without a name (admin catch-alls)
        url = route
        for key, value in kwargs.items():
            url = url.replace(f"<{key}>", str(value))
            for conv in ("int", "str", "slug", "path", "uuid"):
                url = url.replace(f"<{conv}:{key}>", str(value))
        urls.append("/" + url)
    return urls


ALLOWED = {200, 204, 301, 302, 400, 401, 403, 404, 405, 422}


def assert_no_leak(w: World, who: str, method: str, url: str, response) -> None:
    assert response.status_code in ALLOWED, (who, method, url, response.status_code)
    body = response.content.decode(errors="replace")
    if response.get("Content-Type", "").startswith("application/json"):
        body += json.dumps(response.json(), ensure_ascii=False) if body.strip() else ""
    if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        import io

        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(response.content))
        body = " ".join(
            str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v
        )
    for secret in w.secrets:
        assert secret not in body, f"{who} {method} {url} leaks « {secret} »"
    if response.status_code in (301, 302):
        assert not any(s in response["Location"] for s in w.secrets)


class Sessions:
    """One test client per role, signed in once (signing in for every request was a quarter of
    the matrix's time); a response that touched the session (a logout, a login, a view that keeps
    something in it) makes the next request sign in again, so each request runs as its role."""

    def __init__(self, w: World):
        self.users = w.others
        self.clients = {who: Client() for who in self.users}
        for who, user in self.users.items():
            if user is not None:
                self.clients[who].force_login(user)

    def request(self, who: str, method: str, url: str, **kwargs):
        client = self.clients[who]
        response = getattr(client, method)(url, **kwargs)
        if settings.SESSION_COOKIE_NAME in response.cookies:
            client.logout()
            if self.users[who] is not None:
                client.force_login(self.users[who])
        return response


def test_every_page_refuses_or_hides_the_secret(world):
    sessions = Sessions(world)
    requested = 0
    for route, name, converters in iter_patterns():
        if name in SKIP:
            continue
        for url in urls_for(route, name, converters, world):
            for who in world.others:
                for method in ("get", "post"):
                    response = sessions.request(who, method, url)
                    assert_no_leak(world, who, method.upper(), url, response)
                    requested += 1
    assert requested > 100  # the resolver was really walked


def api_operations():
    from maillage.api.api import api

    schema = api.get_openapi_schema()
    for path, methods in schema["paths"].items():
        for method in methods:
            yield path, method


def fill_api_path(path: str, w: World) -> list[str]:
    import re

    names = re.findall(r"{(\w+)}", path)
    urls = [path]
    for name in names:
        key = name.removesuffix("_id")
        values = [w.ids[key]] if key in w.ids else sorted(set(w.ids.values()))
        urls = [u.replace("{" + name + "}", str(v)) for u in urls for v in values]
    return urls


def test_every_api_operation_refuses_or_hides_the_secret(client, world):
    sessions = Sessions(world)
    tokens = {
        who: create_token(user, "matrix") for who, user in world.others.items() if user is not None
    }
    operations = list(api_operations())
    assert any("/map/" in p for p, _m in operations)
    assert {("/api/export-requests/{export_request_id}/withdraw", "post")} <= set(operations)
    for path, method in operations:
        for url in fill_api_path(path, world):
            for who, user in world.others.items():
                headers = {}
                if user is not None:
                    headers = {"Authorization": f"Bearer {tokens[who]}"}
                call = getattr(client, method)
                if method in ("post", "put", "patch"):
                    response = call(
                        url, data="{}", content_type="application/json", headers=headers
                    )
                else:
                    response = call(url, headers=headers)
                assert_no_leak(world, who, method.upper(), url, response)
                if method == "get":  # the same by session (the map page calls the API so)
                    response = sessions.request(who, "get", url)
                    assert_no_leak(world, who, "GET (session)", url, response)


def test_the_world_really_holds_the_secret(client, world):
    """The matrix could pass by accident if the secret were not reachable at all: its owner and
    its chamber's advisor do see it (name, and the exact quantity on the establishment page)."""
    client.force_login(User.objects.get(username="adv-a"))
    html = client.get(f"/etablissements/{world.secret.pk}/").content.decode()
    assert SECRET_NAME in html and any(q in html for q in SECRET_QUANTITY)
    layer = client.get("/api/map/establishments").content.decode()
    assert SECRET_NAME in layer
    client.force_login(User.objects.get(username="owner-a"))
    assert SECRET_NAME in client.get("/").content.decode()
    for addressee in ("cce-a", "pole-a"):  # the export requests' addressees
        client.force_login(User.objects.get(username=addressee))
        assert SECRET_NAME in client.get("/international/demandes/").content.decode()


# -- the spreadsheet import path ------------------------------------------------------------------


def _import(client, kind: str, header: list[str], rows: list[list[str]]):
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";")
    writer.writerow(header)
    writer.writerows(rows)
    upload = io.BytesIO(buf.getvalue().encode())
    upload.name = f"{kind}.csv"
    return client.post("/import/", {"kind": kind, "file": upload})


def test_import_refuses_establishments_of_another_or_a_partner_chamber(
    client, world, make_chamber, make_user
):
    """An advisor of another chamber, or of a chamber bound to A by a data-sharing agreement
    (flows scope), importing the secret establishment's SIRET with a commune of their own: the
    line is refused with a French reason, and nothing at all is written (the new establishment of
    the same file neither), nothing is left to confirm, and the secret does not leak."""
    from maillage.directory.models import Establishment
    from maillage.flows.models import Flow
    from maillage.ingest.spreadsheet import COLUMNS
    from tests.factories import make_siret

    chamber_a = world.secret.commune.territory.chamber
    partner_chamber = make_chamber("cci-c", "91")
    DataSharingAgreementFactory(chamber_a=chamber_a, chamber_b=partner_chamber, start="2024-01-01")
    partner_advisor = make_user("adv-c", User.Role.ADVISOR, partner_chamber)
    importers = {
        "advisor of another chamber": (world.others["advisor of another chamber"], "78646"),
        "administrator of another chamber": (
            world.others["administrator of another chamber"],
            "78646",
        ),
        "advisor of a partner chamber": (partner_advisor, "91228"),
    }
    before = (
        Establishment.objects.count(),
        Flow.objects.count(),
        Contact.objects.count(),
        AuditLog.objects.count(),
    )
    secret = world.secret
    for who, (user, commune) in importers.items():
        client.force_login(user)
        newcomer = make_siret()
        rows = [
            [newcomer, "Nouvelle", "16.10A", "12", "", commune, "", ""],
            [secret.siret, "Prise de contrôle", "16.10A", "12", "", commune, "", ""],
        ]
        response = _import(client, "etablissements", list(COLUMNS["etablissements"]), rows)
        html = response.content.decode()
        assert response.status_code == 200, who
        assert (
            "1 erreur : rien n&#x27;a été écrit" in html or "1 erreur : rien n'a été écrit" in html
        )
        assert '<td class="num">3</td><td>siret</td>' in html, who  # the line is named
        assert "autre chambre" in html, who
        assert "Confirmer l&#x27;import" not in html and "Confirmer l'import" not in html
        assert_no_leak(world, who, "POST import", "/import/", response)
        assert not Establishment.objects.filter(siret=newcomer).exists(), who
        # contacts and flows of the secret establishment are refused the same way
        contact = [[secret.siret, "Anne", "Intruse", "", "", ""]]
        response = _import(client, "contacts", list(COLUMNS["contacts"]), contact)
        assert "rattaché à votre chambre" in response.content.decode(), who
        flow = [[secret.siret, "", "offre", "heat", "", "5", "MWh", "an", "", ""]]
        response = _import(client, "flux", list(COLUMNS["flux"]), flow)
        assert "rattaché à votre chambre" in response.content.decode(), who
        # and a confirmation without a pending file writes nothing
        client.post("/import/", {"confirm": "1", "digest": "0" * 64})
    secret.refresh_from_db()
    assert (secret.name, secret.commune_id) == (f"Scierie {SECRET_NAME}", "77288")
    after = (
        Establishment.objects.count(),
        Flow.objects.count(),
        Contact.objects.count(),
        AuditLog.objects.count(),
    )
    assert after == before
    for who in ("another company", "network animator", "anonymous"):
        client.logout()
        if world.others[who] is not None:
            client.force_login(world.others[who])
        row = [[secret.siret, "Prise de contrôle", "16.10A", "12", "", "77288", "", ""]]
        response = _import(client, "etablissements", list(COLUMNS["etablissements"]), row)
        assert response.status_code in (302, 403), who
    secret.refresh_from_db()
    assert secret.name == f"Scierie {SECRET_NAME}"
