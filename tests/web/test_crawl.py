"""Crawl: every URL pattern of the resolver, GET as every demo role, on a compact demo world built
by the demo loaders themselves (small seed). No response may be a server error; 403 and 404 pages
are the site's French pages.

URL kwargs get real object ids chosen by the page's kind (``IDS``): one object the role may see
and one it may not, wherever the demo has both. New patterns are crawled automatically; a kwarg
without a registered candidate gets the ids of every kind (``pool``)."""

from __future__ import annotations

import io
import time

import pytest
from django.core.management import call_command

from maillage.accounts.models import User
from maillage.directory.models import (
    Cluster,
    Establishment,
    ExportAdvisor,
    ExportContactRequest,
)
from maillage.events import services as event_services
from maillage.events.models import Event, MeetingRequest, Registration, ScheduleRun
from maillage.flows.models import Flow, Visit
from maillage.ingest.demo import load_demo
from maillage.marketplace.models import Need, Response
from maillage.networks.models import Membership, Network
from maillage.synergies.models import DetectionRun, Suggestion
from tests.web.test_permission_matrix import iter_patterns

pytestmark = pytest.mark.django_db

ROLES = [
    None,  # anonymous
    "entreprise1",  # company user (77)
    "acheteur",  # buyer
    "conseiller1.versailles",
    "conseiller1.seine-et-marne",
    "conseiller1.essonne",
    "admin.versailles",  # chamber administrator
    "admin",  # platform administrator
    "animateur.club",
    "cce.maroc",  # export advisor
    "pole.eau",  # cluster contact
]
SKIP = {"logout", "admin:logout", "set_language"}
# Server errors already filed and owned by another branch: still requested, reported, not failed.
# Remove an entry once its fix is merged (the test then guards it).
# URL names whose server errors are known and tracked by an issue (printed, not failed); empty:
# every page must answer without a 5xx.
KNOWN: dict[str, str] = {}
FRENCH = {403: "Accès refusé", 404: "Page introuvable"}


def _first_two(qs) -> list[int]:
    return list(qs.order_by("pk").values_list("pk", flat=True)[:1]) + list(
        qs.order_by("-pk").values_list("pk", flat=True)[:1]
    )


@pytest.fixture
def demo_world(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    started = time.perf_counter()
    load_demo(seed=1, n_establishments=300, n_visited=40)
    call_command("load_demo_marketplace", "--seed", "1", stdout=io.StringIO())
    call_command("detect_synergies", stdout=io.StringIO())
    # A scheduled event, so that requests, agendas and the schedule panel have content.
    event = Event.objects.get(meetings_enabled=True)
    regs = list(Registration.objects.filter(event=event).order_by("pk"))
    if len(regs) >= 2:
        event_services.request_meeting(regs[0].user, event, regs[1].pk, 2)
        req = MeetingRequest.objects.get(event=event)
        event_services.answer_request(regs[1].user, req, True)
        event_services.start_schedule(User.objects.get(username="admin"), event, False)
    own = Establishment.objects.filter(users__username="entreprise1")
    elsewhere = Establishment.objects.exclude(
        commune__territory__chamber=own.first().commune.territory.chamber
    )
    establishments = _first_two(own) + _first_two(elsewhere)[:1]
    ids = {
        "suggestion": _first_two(Suggestion.objects.all()),
        "detection": _first_two(DetectionRun.objects.all()),
        "establishment": establishments,
        "flow": _first_two(Flow.objects.filter(establishment__in=own))
        + _first_two(Flow.objects.exclude(establishment__in=own))[:1],
        "visit": _first_two(Visit.objects.all()),
        "need": _first_two(Need.objects.all()),
        "response": _first_two(Response.objects.all()),
        "event": _first_two(Event.objects.all()),
        "network": _first_two(Network.objects.all()),
        "export_request": _first_two(ExportContactRequest.objects.all()),
        "request_pk": _first_two(MeetingRequest.objects.all())[:1],
        "reg_pk": _first_two(Registration.objects.all())[:1],
        "run_pk": _first_two(ScheduleRun.objects.all())[:1],
        "advisor_pk": _first_two(ExportAdvisor.objects.all())[:1],
        "cluster_pk": _first_two(Cluster.objects.all())[:1],
        "member": list(
            Membership.objects.order_by("pk").values_list("establishment_id", flat=True)[:1]
        ),
    }
    built = time.perf_counter() - started
    return ids, built


# URL name prefix → kind of object its ``pk`` designates.
KINDS = [
    ("suggestion-", "suggestion"),
    ("opportunity-", "suggestion"),
    ("detection-", "detection"),
    ("visit-", "establishment"),
    ("flow-", "flow"),
    ("establishment-", "establishment"),
    ("map-panel", "establishment"),
    ("export-project", "establishment"),
    ("export-contact", "establishment"),
    ("export-cluster-contact", "establishment"),
    ("export-", "export_request"),
    ("marketplace:response-", "response"),
    ("marketplace:need-", "need"),
    ("event-", "event"),
    ("network-", "network"),
]
EXTRA_KWARGS = {
    "kind": lambda ids: ["etablissements", "flux"],
    "fmt": lambda ids: ["csv", "xlsx"],
    "name": lambda ids: ["etablissements", "flux", "suggestions"],
    "establishment_pk": lambda ids: ids["establishment"][:1] + ids["member"],
    "doc_pk": lambda ids: [1],
    "rule_pk": lambda ids: [1],
    "uidb64": lambda ids: ["MQ"],
    "token": lambda ids: ["set-password"],
}


def _candidates(name: str, kwarg: str, ids: dict) -> list:
    if kwarg == "pk":
        for prefix, kind in KINDS:
            if name.startswith(prefix):
                if name == "flow-create":
                    kind = "establishment"
                return ids[kind] or [1]
    if kwarg in ids:
        return ids[kwarg] or [1]
    if kwarg in EXTRA_KWARGS:
        return EXTRA_KWARGS[kwarg](ids)
    return sorted({v for values in ids.values() for v in values}) or [1]


def _urls(ids: dict) -> list[tuple[str, str | None]]:
    from django.urls import reverse

    urls = []
    for route, name, converters in iter_patterns():
        if name in SKIP or (name or "").startswith("admin:") or route.startswith("admin/"):
            continue
        kwargs_list: list[dict] = [{}]
        for kwarg in converters:
            kwargs_list = [
                {**k, kwarg: v} for k in kwargs_list for v in _candidates(name, kwarg, ids)
            ]
        urls += [(reverse(name, kwargs=kw), name) for kw in kwargs_list]
    # The back-office index and a change list for each kind of staff page.
    urls += [(u, None) for u in ("/admin/", "/admin/networks/network/", "/admin/events/event/")]
    return urls


# An XLSX export leaves a temporary file to the garbage collector (openpyxl write-only mode);
# the crawl is about server errors, so that warning is not its failure.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_no_server_error_for_any_role_on_any_url(client, demo_world):
    ids, built = demo_world
    urls = _urls(ids)
    assert len(urls) > 120
    started = time.perf_counter()
    failures, known, requested = [], [], 0
    for username in ROLES:
        client.logout()
        if username is not None:
            client.force_login(User.objects.get(username=username))
        for url, name in urls:
            try:
                r = client.get(url)
            except Exception as exc:  # the test client re-raises a view's exception
                (known if name in KNOWN else failures).append(
                    (username, url, f"{type(exc).__name__}: {exc}")
                )
                continue
            requested += 1
            if getattr(r, "file_to_stream", None) is not None:
                r.file_to_stream.close()  # a file download releases its handle
            if r.status_code >= 500:
                (known if name in KNOWN else failures).append((username, url, r.status_code))
            elif (
                r.status_code in FRENCH
                and r["Content-Type"].startswith("text/html")
                and FRENCH[r.status_code] not in r.content.decode()
            ):
                failures.append((username, url, f"{r.status_code} page not French"))
    crawled = time.perf_counter() - started
    print(f"demo world built in {built:.1f} s; {requested} GETs in {crawled:.1f} s")
    if known:
        print(f"{len(known)} known server errors (KNOWN): {sorted({u for _w, u, _e in known})}")
    assert not failures, failures[:30]
    assert requested > 1000
