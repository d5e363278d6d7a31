"""Load test: 100 concurrent users for 5 minutes against `bin/serve` (gunicorn + WhiteNoise +
task workers) on PostgreSQL over the loopback (issue 13, point 4).

    python bench/load.py [--users 100] [--duration 300] [--reuse-db] [--workers N]

The script builds its own database (``DATABASE_URL``, by default
``postgres://postgres@127.0.0.1:5432/load_db``, dropped and created again unless ``--reuse-db``):
migrate, reference data, demo territory (``load_demo --seed 1``, which also builds the
offline map boundaries), marketplace demo, one detection. It starts ``bin/serve`` on a free port, then runs locust
headless with this same file as the locustfile (the user classes below):

- advisors browse establishments and synergies, search, open the dashboard and pan the map
  (GeoJSON layers, town names for moving bounding boxes, background outlines);
- company users check « Mes opportunités », their notifications and the marketplace;
- buyers publish a need (real form POST with its CSRF token, lots formset);
- one chamber administrator launches a detection during the run and follows its page.

Every session is opened through the real login form before the measured run (PBKDF2 costs
about a second of CPU per login, on purpose: 100 logins would otherwise fill the first minute;
their times are printed apart; ``--login-in-run`` makes each locust user log in itself). Targets: 0 errors (any non-2xx/3xx answer or
a missing marker in the page), p95 < 300 ms for pages and < 200 ms for map GeoJSON. Prints one
line per endpoint and exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = str(ROOT / ".venv" / "bin" / "python")
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/load_db"
PAGE_P95_MS = 300
GEOJSON_P95_MS = 200
# Request names: "page …", "geojson …", "connexion …", "post …" (the prefix selects the target).
GEOJSON = "geojson"
PAGE = "page"

# ----------------------------------------------------------------------------------------------
# Locust scenario (imported by locust; the plan comes from the driver through MAILLAGE_LOAD_PLAN)
# ----------------------------------------------------------------------------------------------


class _Form(HTMLParser):
    """The CSRF token and the named fields (with their default values) of a page's forms."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        name = a.get("name")
        if tag == "input" and name and a.get("type") not in ("checkbox", "radio", "file"):
            self.fields.setdefault(name, a.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            self.fields.setdefault(name, "")
        elif tag == "option" and self._select and "selected" in a:
            self.fields[self._select] = a.get("value") or ""
        elif tag == "textarea" and name:
            self.fields.setdefault(name, "")

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None


def _form_fields(html: str) -> dict[str, str]:
    parser = _Form()
    parser.feed(html)
    return parser.fields


if os.environ.get("MAILLAGE_LOAD_PLAN"):
    from locust import HttpUser, between, events, task

    PLAN = json.loads(Path(os.environ["MAILLAGE_LOAD_PLAN"]).read_text())
    SESSIONS: dict[str, list[dict]] = PLAN.get("sessions", {})

    class _Session(HttpUser):
        """A user with an account: logs in through the form, checks every answer."""

        abstract = True
        accounts: list[str] = []

        def on_start(self) -> None:
            opened = [a for a in self.accounts if SESSIONS.get(a)]
            if opened:
                # Signed in by the driver before the measured run (bench/load.py open_sessions).
                self.username = random.choice(opened)
                for name, value in SESSIONS[self.username].pop().items():
                    self.client.cookies.set(name, value)
                return
            self.username = random.choice(self.accounts)
            page = self.client.get("/comptes/login/", name="connexion GET /comptes/login/")
            token = _form_fields(page.text).get("csrfmiddlewaretoken", "")
            with self.client.post(
                "/comptes/login/",
                {
                    "username": self.username,
                    "password": PLAN["password"],
                    "csrfmiddlewaretoken": token,
                },
                headers={"Referer": self.host + "/comptes/login/"},
                name="connexion POST /comptes/login/",
                allow_redirects=False,
                catch_response=True,
            ) as answer:
                if answer.status_code != 302:
                    answer.failure(f"connexion refusée pour {self.username}: {answer.status_code}")

        def page(self, url: str, name: str, marker: str = "</html>") -> str:
            """GET an HTML page; a missing ``marker`` (or the login form) is an error."""
            with self.client.get(url, name=f"{PAGE} {name}", catch_response=True) as answer:
                text = answer.text or ""
                if answer.status_code != 200:
                    answer.failure(f"HTTP {answer.status_code}")
                elif marker not in text or 'name="password"' in text:
                    answer.failure(f"page incomplète ({marker!r} absent)")
                return text

        def geojson(self, url: str, name: str) -> None:
            with self.client.get(url, name=f"{GEOJSON} {name}", catch_response=True) as answer:
                if answer.status_code != 200:
                    answer.failure(f"HTTP {answer.status_code}")
                    return
                try:
                    body = answer.json()
                except ValueError:
                    answer.failure("réponse non JSON")
                    return
                if body.get("type") != "FeatureCollection":
                    answer.failure("pas une FeatureCollection")

    def _bbox(chamber: dict) -> tuple[float, float, float, float]:
        """A random view inside the chamber's territory, 0.1° to 1° wide (zoom 9 to 12)."""
        west, south, east, north = chamber["bbox"]
        width = random.uniform(0.1, 1.0)
        height = width * 0.6
        x = random.uniform(west, max(west, east - width))
        y = random.uniform(south, max(south, north - height))
        return x, y, x + width, y + height

    class Advisor(_Session):
        """CCI advisor: searches and browses establishments and synergies, pans the map."""

        weight = 5
        wait_time = between(2, 8)
        accounts = [a["username"] for a in PLAN["advisors"]]

        def on_start(self) -> None:
            super().on_start()
            self.chamber = next(a for a in PLAN["advisors"] if a["username"] == self.username)

        @task(3)
        def search(self) -> None:
            q = random.choice(PLAN["search_words"])
            self.page(f"/etablissements/?q={q}", "/etablissements/?q=…", "<main")

        @task(3)
        def establishment(self) -> None:
            pk = random.choice(self.chamber["establishments"])
            self.page(f"/etablissements/{pk}/", "/etablissements/<pk>/", "<main")

        @task(2)
        def synergies(self) -> None:
            self.page("/synergies/", "/synergies/", "<main")
            if self.chamber["suggestions"]:
                pk = random.choice(self.chamber["suggestions"])
                self.page(f"/synergies/{pk}/", "/synergies/<pk>/", "<main")

        @task(1)
        def board(self) -> None:
            self.page("/synergies/tableau/", "/synergies/tableau/", "<main")

        @task(1)
        def dashboard(self) -> None:
            self.page("/tableau-de-bord/", "/tableau-de-bord/", "<main")

        @task(1)
        def home(self) -> None:
            self.page("/", "/", "<main")

        @task(4)
        def pan_map(self) -> None:
            """The map page, its layers, then a few moves (town names for each new view), a
            zoom that brings the EPCI and communes outlines, and one establishment's panel."""
            self.page("/carte/", "/carte/", 'id="map"')
            self.geojson("/api/map/background", "/api/map/background")
            self.geojson("/api/map/establishments", "/api/map/establishments")
            self.geojson("/api/map/links", "/api/map/links")
            self.geojson("/api/map/choropleth?level=epci", "/api/map/choropleth")
            for _ in range(random.randint(2, 5)):
                west, south, east, north = _bbox(self.chamber)
                population = random.choice((100000, 30000, 15000, 6000, 2000, 0))
                self.geojson(
                    f"/api/map/towns?west={west:.4f}&south={south:.4f}&east={east:.4f}"
                    f"&north={north:.4f}&min_population={population}",
                    "/api/map/towns?bbox",
                )
            self.geojson("/api/map/background?level=epci", "/api/map/background?level=epci")
            self.geojson(
                f"/api/map/background?level=communes&departement={self.chamber['departement']}",
                "/api/map/background?level=communes",
            )
            if random.random() < 0.5:
                category = random.choice(PLAN["categories"])
                self.geojson(
                    f"/api/map/establishments?category={category}",
                    "/api/map/establishments?category",
                )
            pk = random.choice(self.chamber["establishments"])
            self.page(f"/carte/panneau/{pk}/", "/carte/panneau/<pk>/", "")

    class Company(_Session):
        """Company user: « Mes opportunités », notifications, the marketplace, the map."""

        weight = 4
        wait_time = between(3, 10)
        accounts = PLAN["companies"]

        @task(4)
        def opportunities(self) -> None:
            self.page("/synergies/opportunites/", "/synergies/opportunites/", "<main")

        @task(3)
        def notifications(self) -> None:
            self.page("/marche/notifications/", "/marche/notifications/", "<main")

        @task(2)
        def marketplace(self) -> None:
            self.page("/marche/", "/marche/", "<main")

        @task(1)
        def home(self) -> None:
            self.page("/", "/", "<main")

        @task(1)
        def company_map(self) -> None:
            self.page("/carte/", "/carte/", 'id="map"')
            self.geojson("/api/map/establishments", "/api/map/establishments")

    class Buyer(_Session):
        """Buyer: reads its needs and publishes new ones (form GET, then POST with CSRF)."""

        weight = 1
        wait_time = between(5, 15)
        accounts = [PLAN["buyer"]["username"]]

        @task(2)
        def needs(self) -> None:
            self.page("/marche/", "/marche/", "<main")
            if PLAN["buyer"]["needs"]:
                pk = random.choice(PLAN["buyer"]["needs"])
                self.page(f"/marche/besoins/{pk}/", "/marche/besoins/<pk>/", "<main")

        @task(1)
        def publish(self) -> None:
            html = self.page("/marche/besoins/nouveau/", "/marche/besoins/nouveau/", "<form")
            fields = _form_fields(html)
            title = f"Usinage de pièces de charge {random.randint(1, 10**9)}"
            fields.update(
                {
                    "buyer": str(PLAN["buyer"]["establishment"]),
                    "theme": "purchasing",
                    "kind": "service",
                    "title": title,
                    "description": "Série de 150 pièces en acier à usiner (banc de charge).",
                    "category": "mechanics",
                    "quantity": "150 pièces",
                    "budget": "lt25k",
                    "visibility": "platform",
                    "closes_on": PLAN["closes_on"],
                    "lots-TOTAL_FORMS": "1",
                    "lots-INITIAL_FORMS": "0",
                    "lots-0-title": "Usinage",
                    "lots-0-category": "mechanics",
                }
            )
            with self.client.post(
                "/marche/besoins/nouveau/",
                fields,
                headers={"Referer": self.host + "/marche/besoins/nouveau/"},
                name="post /marche/besoins/nouveau/",
                allow_redirects=False,
                catch_response=True,
            ) as answer:
                location = answer.headers.get("Location", "")
                if answer.status_code != 302 or "/marche/besoins/" not in location:
                    errors = re.findall(
                        r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', answer.text, re.S
                    )
                    answer.failure(f"besoin refusé: HTTP {answer.status_code} {errors[:2]}")
                    return
            self.page(location, "/marche/besoins/<pk>/", title)

    class DetectionLauncher(_Session):
        """A chamber administrator who launches one detection during the run and follows it."""

        fixed_count = 1
        wait_time = between(5, 10)
        accounts = [PLAN["detection_admin"]]
        run_url = ""

        @task
        def detection(self) -> None:
            if not self.run_url:
                home = self.page("/synergies/", "/synergies/", "<main")
                token = _form_fields(home).get("csrfmiddlewaretoken", "")
                with self.client.post(
                    "/synergies/detection/",
                    {"csrfmiddlewaretoken": token},
                    headers={"Referer": self.host + "/synergies/"},
                    name="post /synergies/detection/",
                    allow_redirects=False,
                    catch_response=True,
                ) as answer:
                    if answer.status_code != 302:
                        answer.failure(f"détection non lancée: HTTP {answer.status_code}")
                        return
                    type(self).run_url = answer.headers["Location"]
                    events.request.fire(
                        request_type="INFO",
                        name="détection lancée",
                        response_time=0,
                        response_length=0,
                        exception=None,
                        context={},
                    )
            self.page(self.run_url, "/synergies/detection/<pk>/", "<main")


# ----------------------------------------------------------------------------------------------
# Driver: database, server, locust, verdict
# ----------------------------------------------------------------------------------------------


def _plan() -> dict:
    """Accounts and ids the users pick from (runs in a subprocess with Django set up)."""
    import datetime

    import django

    django.setup()
    from django.db.models import Max, Min

    from maillage.accounts.models import User
    from maillage.directory.models import Establishment
    from maillage.ingest.demo import DEMO_PASSWORD
    from maillage.marketplace.models import Need
    from maillage.synergies.models import Suggestion

    advisors = []
    staff = User.objects.filter(
        role=User.Role.ADVISOR, email__endswith="@demo.maillage.localhost", is_active=True
    ).order_by("username")
    for user in staff:
        mine = Establishment.objects.of_chambers([user.chamber_id])
        located = mine.filter(latitude__isnull=False)
        box = located.aggregate(
            w=Min("longitude"), s=Min("latitude"), e=Max("longitude"), n=Max("latitude")
        )
        if box["w"] is None:
            continue
        departement = located.values_list("commune__departement", flat=True).order_by("pk").first()
        advisors.append(
            {
                "username": user.username,
                "establishments": list(mine.order_by("pk").values_list("pk", flat=True)[:400]),
                "suggestions": list(
                    Suggestion.objects.filter(chamber_id=user.chamber_id)
                    .order_by("-score", "pk")
                    .values_list("pk", flat=True)[:200]
                ),
                "bbox": [box["w"], box["s"], box["e"], box["n"]],
                "departement": departement,
            }
        )
    buyer = User.objects.get(username="acheteur")
    companies = list(
        User.objects.filter(role=User.Role.COMPANY, email__endswith="@demo.maillage.localhost")
        .exclude(username="acheteur")
        .order_by("username")
        .values_list("username", flat=True)
    )
    admin = (
        User.objects.filter(
            role=User.Role.CHAMBER_ADMIN, email__endswith="@demo.maillage.localhost"
        )
        .order_by("username")
        .first()
    )
    return {
        "password": DEMO_PASSWORD,
        "advisors": advisors,
        "companies": companies,
        "buyer": {
            "username": buyer.username,
            "establishment": buyer.establishments.order_by("pk").first().pk,
            "needs": list(
                Need.objects.filter(created_by=buyer).order_by("pk").values_list("pk", flat=True)
            ),
        },
        "detection_admin": admin.username,
        "search_words": ["sa", "metal", "bois", "transport", "plast", "agro", "mec", "77"],
        "categories": ["waste", "energy", "material", "water"],
        "closes_on": (datetime.date.today() + datetime.timedelta(days=30)).isoformat(),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _manage(env: dict, *args: str) -> None:
    started = time.perf_counter()
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True)
    print(f"  manage.py {' '.join(args)} : {time.perf_counter() - started:.0f} s", flush=True)


def prepare_database(env: dict, url: str) -> None:
    """Drop and create the database of ``url`` (the server's maintenance db), then load it."""
    name = url.rsplit("/", 1)[1]
    maintenance = url.rsplit("/", 1)[0] + "/postgres"
    for sql in (f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'):
        subprocess.run(["psql", maintenance, "-q", "-c", sql], check=True)
    print(f"base {name} : préparation", flush=True)
    _manage(env, "migrate", "--noinput", "--verbosity", "0")
    _manage(env, "load_reference", "--verbosity", "0")
    _manage(env, "load_demo", "--seed", "1", "--verbosity", "0")
    _manage(env, "load_demo_marketplace", "--seed", "1", "--verbosity", "0")
    _manage(env, "detect_synergies")
    # Fresh planner statistics, as autovacuum would have gathered on a server in service.
    subprocess.run(["psql", url, "-q", "-c", "ANALYZE"], check=True)


def _wait_healthy(base: str, server: subprocess.Popen, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"bin/serve s'est arrêté (code {server.returncode})")
        try:
            with urllib.request.urlopen(base + "/sante/", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(1)
    raise SystemExit("le serveur ne répond pas sur /sante/")


def start_server(env: dict, port: int, log: Path) -> subprocess.Popen:
    """``bin/serve`` in its own process group (stopped with SIGTERM to the group)."""
    return subprocess.Popen(
        [str(ROOT / "bin" / "serve")],
        cwd=ROOT,
        env={**env, "MAILLAGE_BIND": f"127.0.0.1:{port}", "PY": PY},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def server_env(url: str, var_dir: Path, workers: int | None) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "MAILLAGE_VAR_DIR": str(var_dir),
        "PYTHONPATH": str(ROOT / "src"),
        "DJANGO_SETTINGS_MODULE": "maillage.config.settings",
        "SECRET_KEY": "load-test-" + "x" * 50,
        "DEBUG": "false",
        "LOG_LEVEL": "WARNING",
        # One JSON line per request (route, duration): the server-side time of each route.
        "MAILLAGE_REQUEST_LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
        "MAILLAGE_TASK_WORKERS": "1",
        # Static files do not depend on the database: collected once for every bench run.
        "STATIC_ROOT": str(Path(tempfile.gettempdir()) / "maillage-bench-static"),
    }
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    return env


def warm_up(base: str, plan: dict, workers: int) -> None:
    """Each gunicorn worker reads the offline boundaries and compiles its templates on its first
    requests (bench/map_background.py measures that): request every map layer and the main pages
    a few times per worker, in parallel, before the measured run."""
    import concurrent.futures

    import requests

    advisor = plan["advisors"][0]
    session = requests.Session()
    page = session.get(base + "/comptes/login/", timeout=120)
    session.post(
        base + "/comptes/login/",
        {
            "username": advisor["username"],
            "password": plan["password"],
            "csrfmiddlewaretoken": _form_fields(page.text)["csrfmiddlewaretoken"],
        },
        headers={"Referer": base + "/comptes/login/"},
        timeout=120,
    )
    urls = [
        "/api/map/background",
        "/api/map/background?level=epci",
        f"/api/map/background?level=communes&departement={advisor['departement']}",
        "/api/map/choropleth?level=epci",
        "/api/map/establishments",
        "/api/map/links",
        "/carte/",
        "/synergies/",
        f"/etablissements/{advisor['establishments'][0]}/",
    ]
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers * 2) as pool:
        list(pool.map(lambda url: session.get(base + url, timeout=300), urls * workers * 2))
    print(
        f"préchauffage : {len(urls) * workers * 2} requêtes en {time.perf_counter() - started:.0f} s"
    )


def _login(base: str, username: str, password: str):
    import requests

    session = requests.Session()
    page = session.get(base + "/comptes/login/", timeout=600)
    started = time.perf_counter()
    answer = session.post(
        base + "/comptes/login/",
        {
            "username": username,
            "password": password,
            "csrfmiddlewaretoken": _form_fields(page.text)["csrfmiddlewaretoken"],
        },
        headers={"Referer": base + "/comptes/login/"},
        allow_redirects=False,
        timeout=600,
    )
    if answer.status_code != 302:
        raise SystemExit(f"connexion de {username} refusée ({answer.status_code})")
    return dict(session.cookies), (time.perf_counter() - started) * 1000


def open_sessions(base: str, plan: dict, users: int) -> list[float]:
    """Sign in, through the real login form, as many sessions per account as locust users may
    take it, before the measured run: PBKDF2 (about a second of CPU per login, on purpose) would
    otherwise fill the first minute. Returns the login times (ms)."""
    import concurrent.futures
    import math

    shares = [
        ([a["username"] for a in plan["advisors"]], 5),
        (plan["companies"], 4),
        ([plan["buyer"]["username"]], 1),
    ]
    wanted = [(plan["detection_admin"], 1)]
    for accounts, weight in shares:
        per_account = math.ceil(users * weight / 10 / len(accounts)) + 1
        wanted += [(account, per_account) for account in accounts]
    jobs = [account for account, n in wanted for _ in range(n)]
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        done = list(pool.map(lambda a: (a, *_login(base, a, plan["password"])), jobs))
    plan["sessions"] = {}
    for account, cookies, _ms in done:
        plan["sessions"].setdefault(account, []).append(cookies)
    times = sorted(ms for _a, _c, ms in done)
    print(
        f"connexions : {len(jobs)} en {time.perf_counter() - started:.0f} s, médiane"
        f" {times[len(times) // 2]:.0f} ms, p95 {times[int(0.95 * len(times))]:.0f} ms",
        flush=True,
    )
    return times


def server_times(log: Path, offset: int) -> dict[str, list[float]]:
    """Durations (ms) per route of the request log lines written after byte ``offset``."""
    times: dict[str, list[float]] = {}
    with log.open("rb") as f:
        f.seek(offset)
        lines = f.read().decode("utf-8", "replace").splitlines()
    for line in lines:
        if not line.startswith('{"time"') or '"duration_ms"' not in line:
            continue
        entry = json.loads(line)
        times.setdefault(f"{entry['method']} {entry['route']}", []).append(entry["duration_ms"])
    return times


def print_server_times(times: dict[str, list[float]]) -> None:
    import statistics

    print(f"{'temps serveur (journal) : route':<58} {'nb':>6} {'méd.':>6} {'p95':>6}")
    for route, values in sorted(times.items()):
        values.sort()
        p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
        print(f"{route[:58]:<58} {len(values):>6} {statistics.median(values):>6.0f} {p95:>6.0f}")


def run_locust(
    base: str, plan: Path, users: int, duration: int, spawn_rate: float, out: Path
) -> Path:
    prefix = out / "locust"
    subprocess.run(
        [
            PY,
            "-m",
            "locust",
            "-f",
            str(Path(__file__).resolve()),
            "--headless",
            "--host",
            base,
            "--users",
            str(users),
            "--spawn-rate",
            str(spawn_rate),
            "--run-time",
            f"{duration}s",
            "--csv",
            str(prefix),
            "--only-summary",
            "--loglevel",
            "WARNING",
            "--exit-code-on-error",
            "0",
        ],
        cwd=ROOT,
        env={**os.environ, "MAILLAGE_LOAD_PLAN": str(plan)},
        check=True,
    )
    return prefix


def verdict(prefix: Path) -> tuple[list[str], list[dict]]:
    """Check the targets on locust's CSV statistics; returns (failures, rows)."""
    rows = list(csv.DictReader(Path(f"{prefix}_stats.csv").read_text().splitlines()))
    failures = []
    for row in rows:
        name, count, errors = row["Name"], int(row["Request Count"]), int(row["Failure Count"])
        if name == "Aggregated" or row["Type"] == "INFO":
            continue
        if errors:
            failures.append(f"{row['Type']} {name} : {errors} erreurs sur {count}")
        p95 = float(row["95%"]) if row["95%"] not in ("N/A", "") else 0.0
        limit = (
            GEOJSON_P95_MS
            if name.startswith(GEOJSON)
            else PAGE_P95_MS
            if name.startswith(PAGE)
            else None
        )
        if limit is not None and p95 >= limit:
            failures.append(f"{name} : p95 {p95:.0f} ms (objectif < {limit} ms)")
    for row in csv.DictReader(Path(f"{prefix}_failures.csv").read_text().splitlines()):
        failures.append(f"  {row['Method']} {row['Name']} × {row['Occurrences']} : {row['Error']}")
    return failures, rows


def print_table(rows: list[dict], duration: int) -> None:
    print(
        f"{'requête':<58} {'nb':>6} {'err':>4} {'méd.':>6} {'p95':>6} {'p99':>6} {'max':>6} {'req/s':>6}"
    )
    for row in sorted(rows, key=lambda r: (r["Name"] == "Aggregated", r["Name"])):
        if row["Type"] == "INFO":
            continue
        name = row["Name"] if row["Name"] != "Aggregated" else "TOTAL"
        print(
            f"{name[:58]:<58} {row['Request Count']:>6} {row['Failure Count']:>4}"
            f" {row['50%']:>6} {row['95%']:>6} {row['99%']:>6}"
            f" {float(row['Max Response Time']):>6.0f} {float(row['Requests/s']):>6.1f}"
        )


def detection_outcome(env: dict) -> str:
    code = (
        "from maillage.synergies.models import DetectionRun as R;"
        "r=R.objects.order_by('-pk').first();"
        "print(f'n° {r.pk} {r.state}, {r.started_at:%H:%M:%S} → {r.finished_at:%H:%M:%S}' if r and r.finished_at else (f'n° {r.pk} {r.state}' if r else 'aucune'))"
    )
    done = subprocess.run(
        [PY, "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return (done.stdout or done.stderr).strip().splitlines()[-1] if done.stdout else done.stderr


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--duration", type=int, default=300, help="secondes")
    parser.add_argument("--spawn-rate", type=float, default=2.0, help="utilisateurs par seconde")
    parser.add_argument("--workers", type=int, default=None, help="WEB_CONCURRENCY (gunicorn)")
    parser.add_argument("--database-url", default=os.environ.get("LOAD_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--reuse-db", action="store_true", help="ne pas recréer la base")
    parser.add_argument(
        "--login-in-run",
        action="store_true",
        help="chaque utilisateur se connecte pendant la mesure (sinon : avant, par le formulaire)",
    )
    parser.add_argument("--write-plan", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.write_plan:
        Path(args.write_plan).write_text(json.dumps(_plan()))
        return

    out = Path(tempfile.mkdtemp(prefix="maillage-load-"))
    # One var dir per database (offline map boundaries, static files), kept for --reuse-db.
    var = Path(tempfile.gettempdir()) / f"maillage-load-var-{args.database_url.rsplit('/', 1)[1]}"
    if not args.reuse_db:
        shutil.rmtree(var, ignore_errors=True)
    env = server_env(args.database_url, var, args.workers)
    if not args.reuse_db:
        prepare_database(env, args.database_url)
    plan = out / "plan.json"
    subprocess.run([PY, __file__, "--write-plan", str(plan)], cwd=ROOT, env=env, check=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(env, port, out / "serve.log")
    try:
        _wait_healthy(base, server)
        from maillage.config.gunicorn import workers as default_workers

        print(
            f"serveur {base} : {args.workers or default_workers} processus gunicorn × "
            f"{os.environ.get('GUNICORN_THREADS', '2')} fils ; {args.users} utilisateurs,"
            f" {args.duration} s, {os.cpu_count()} cœurs",
            flush=True,
        )
        plan_data = json.loads(plan.read_text())
        warm_up(base, plan_data, args.workers or default_workers)
        if not args.login_in_run:
            open_sessions(base, plan_data, args.users)
            plan.write_text(json.dumps(plan_data))
        measured_from = (out / "serve.log").stat().st_size
        prefix = run_locust(base, plan, args.users, args.duration, args.spawn_rate, out)
    finally:
        stop_server(server)
    failures, rows = verdict(prefix)
    print_table(rows, args.duration)
    print_server_times(server_times(out / "serve.log", measured_from))
    print(f"dernière détection : {detection_outcome(env)}")
    tracebacks = (out / "serve.log").read_text().count("Traceback")
    print(f"journal du serveur : {out / 'serve.log'} ({tracebacks} traces d'erreur)")
    if tracebacks:
        failures.append(f"{tracebacks} traces d'erreur dans le journal du serveur")
    if failures:
        print("ÉCHEC :\n" + "\n".join(failures))
        raise SystemExit(1)
    print("objectifs tenus : 0 erreur, p95 pages < 300 ms, p95 GeoJSON < 200 ms")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
