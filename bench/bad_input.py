"""Bad input: 1,000 malformed requests and uploads against the web pages and the API, as each
role (issue 13, point 6).

    python bench/bad_input.py [--count 1000] [--seed 1] [--database-url postgres://…]

Garbage files, wrong content types, truncated or hollow XLSX, CSV in the wrong encoding, huge and
non-finite numbers, XSS and SQL-looking strings, NUL bytes, over-long fields, bad JSON, ids out
of range — as an anonymous visitor, an advisor, a chamber administrator, a company user, the
buyer and a network animator, through Django's full middleware stack (test client, CSRF off:
the payloads are what is tested). Asserts, for every request:

- no 5xx;
- HTML answers never contain one of the XSS payloads unescaped (including payloads stored by
  an earlier accepted request and shown again on list and detail pages, checked at the end);
- API answers are JSON;
- every rejected request (neither a 201 nor a redirect other than to the login page) leaves the
  row counts of the main tables unchanged (establishments, contacts, flows, visits, needs, lots,
  responses, attachments, suggestions, network documents, users) — in particular after every
  rejected import.

By default the database is a copy of the load test's ``load_db`` on the shared PostgreSQL
(``CREATE DATABASE … TEMPLATE load_db``), built first by ``bench/load.py`` if missing; a
``--database-url`` of your own is used as it is (it gets the accepted payloads).
"""

from __future__ import annotations

import argparse
import collections
import datetime
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

SERVER = "postgres://postgres@127.0.0.1:5432"
XSS = [
    "<script>alert('maillage-xss')</script>",
    '"><img src=x onerror=alert("maillage-xss")>',
    "<svg onload=alert('maillage-xss')>",
    "'><iframe src=javascript:alert('maillage-xss')>",
    "<a href=\"javascript:alert('maillage-xss')\">clic</a>",
]
SQL = [
    "' OR '1'='1",
    "1; DROP TABLE directory_establishment; --",
    "') UNION SELECT password FROM accounts_user --",
    "%' AND 1=1 --",
    "\\'; SELECT pg_sleep(5); --",
]
HUGE = [
    "99999999999999999999999999",
    "-99999999999999999999999999",
    "1e309",
    "-1e309",
    "NaN",
    "Infinity",
    "1" * 400,
    "0x7fffffff",
    "-0",
    "9223372036854775808",
]
ODD = [
    "",
    " ",
    "\x00",
    "nul\x00octet",
    "é" * 5000,
    "A" * 100_000,
    "☃🏭\u202e",
    "\r\n\r\n",
    "../../etc/passwd",
    '=HYPERLINK("http://x")',
]


def strings() -> list[str]:
    return XSS + SQL + HUGE + ODD


def _xlsx(rows: list[list[object]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook()
    sheet = book.active
    for row in rows:
        # XLSX cannot hold control characters (NUL…): those go through the CSV files instead.
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("", c) if isinstance(c, str) else c for c in row])
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


class Files:
    """Malformed uploads, built once."""

    def __init__(self, rng: random.Random, templates: dict[str, bytes]) -> None:
        self.rng = rng
        self.templates = templates
        self.hollow_zip = self._zip({"mimetype": b"rien", "autre.txt": b"pas un classeur"})
        headers = {kind: self._header(content) for kind, content in templates.items()}
        self.hostile = {
            kind: _xlsx(
                [header] + [[self.rng.choice(strings()) for _ in header] for _ in range(20)]
            )
            for kind, header in headers.items()
        }
        self.hostile_csv = {
            kind: "\n".join(
                [";".join(header)]
                + [
                    ";".join(self.rng.choice(strings()).replace("\n", " ") for _ in header)
                    for _ in range(20)
                ]
            ).encode("utf-8", "surrogatepass")
            for kind, header in headers.items()
        }

    @staticmethod
    def _zip(members: dict[str, bytes]) -> bytes:
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w") as archive:
            for name, content in members.items():
                archive.writestr(name, content)
        return data.getvalue()

    @staticmethod
    def _header(content: bytes) -> list[str]:
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(content), read_only=True).active
        first = next(sheet.iter_rows(max_row=1, values_only=True))
        return [str(cell) for cell in first if cell is not None]

    def pick(self, kind: str) -> tuple[str, bytes, str]:
        """(file name, content, what it is)."""
        template = self.templates[kind]
        choices = [
            ("garbage.xlsx", os.urandom(self.rng.randint(0, 4000)), "octets aléatoires .xlsx"),
            ("garbage.csv", os.urandom(self.rng.randint(1, 4000)), "octets aléatoires .csv"),
            ("vide.xlsx", b"", "fichier vide"),
            ("coupe.xlsx", template[: self.rng.randint(1, len(template) - 1)], "XLSX tronqué"),
            ("creux.xlsx", self.hollow_zip, "ZIP sans classeur"),
            ("page.xlsx", b"<html><script>alert(1)</script></html>", "HTML nommé .xlsx"),
            ("image.csv", b"\x89PNG\r\n\x1a\n" + os.urandom(200), "PNG nommé .csv"),
            ("hostile.xlsx", self.hostile[kind], "XLSX aux cellules hostiles"),
            ("hostile.csv", self.hostile_csv[kind], "CSV aux cellules hostiles"),
            (
                "latin1.csv",
                self.hostile_csv[kind].decode("utf-8", "replace").encode("latin-1", "replace"),
                "CSV en Latin-1",
            ),
            ("utf16.csv", "siret;nom\n1;é\n".encode("utf-16"), "CSV en UTF-16"),
            ("programme.exe", b"MZ" + os.urandom(500), "exécutable"),
            (self.rng.choice(XSS) + ".xlsx", template, "nom de fichier hostile"),
            ("gros.csv", b"a;b\n" + b"1;2\n" * 1_400_000, "CSV de 5,6 Mo (> 5 Mo)"),
        ]
        return self.rng.choice(choices)


def _copy_database(template: str, name: str) -> str:
    maintenance = f"{SERVER}/postgres"
    exists = subprocess.run(
        ["psql", maintenance, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{template}'"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if not exists:
        import load

        env = load.server_env(f"{SERVER}/{template}", Path(tempfile.mkdtemp()) / "var", None)
        load.prepare_database(env, f"{SERVER}/{template}")
    subprocess.run(
        ["psql", maintenance, "-q", "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'],
        check=True,
    )
    copied = subprocess.run(
        ["psql", maintenance, "-q", "-c", f'CREATE DATABASE "{name}" TEMPLATE "{template}"'],
        check=False,
    )
    if copied.returncode != 0:
        # The template is in use (the load test is running): copy it with pg_dump instead.
        subprocess.run(["psql", maintenance, "-q", "-c", f'CREATE DATABASE "{name}"'], check=True)
        dump = subprocess.Popen(
            ["pg_dump", "--format=custom", f"{SERVER}/{template}"], stdout=subprocess.PIPE
        )
        subprocess.run(
            ["pg_restore", "--no-owner", "-d", f"{SERVER}/{name}"], stdin=dump.stdout, check=True
        )
        if dump.wait() != 0:
            raise SystemExit("pg_dump a échoué")
    return f"{SERVER}/{name}"


class Bench:
    def __init__(self, rng: random.Random) -> None:
        from django.test import Client

        from maillage.accounts.models import User
        from maillage.accounts.tokens import create_token
        from maillage.directory.models import Establishment, Network
        from maillage.marketplace.models import Need
        from maillage.synergies.models import Suggestion

        self.rng = rng
        self.stats: collections.Counter = collections.Counter()
        self.problems: list[str] = []
        self.accepted = 0
        users = {
            "anonyme": None,
            "conseiller": User.objects.get(username="conseiller1.seine-et-marne"),
            "admin": User.objects.get(username="admin.seine-et-marne"),
            "entreprise": User.objects.get(username="entreprise1"),
            "acheteur": User.objects.get(username="acheteur"),
            "animateur": User.objects.get(username="animateur.club"),
        }
        self.clients = {}
        for role, user in users.items():
            client = Client(raise_request_exception=False)
            if user is not None:
                client.force_login(user)
            self.clients[role] = client
        self.token = create_token(users["acheteur"], "banc mauvaises entrées")
        self.users = users
        advisor = users["conseiller"]
        self.establishment = (
            Establishment.objects.of_chambers([advisor.chamber_id]).order_by("pk").first()
        )
        self.buyer = users["acheteur"].establishments.order_by("pk").first()
        self.need = Need.objects.filter(created_by=users["acheteur"]).order_by("pk").first()
        self.open_need = (
            Need.objects.filter(status="published").exclude(buyer__users=users["entreprise"])
            .order_by("pk").first()
        )  # fmt: skip
        self.suggestion = (
            Suggestion.objects.filter(chamber_id=advisor.chamber_id).order_by("pk").first()
        )
        self.network = Network.objects.filter(animators=users["animateur"]).order_by("pk").first()
        templates = {}
        for kind in ("etablissements", "contacts", "flux"):
            answer = self.clients["conseiller"].get(f"/import/modele/{kind}.xlsx")
            assert answer.status_code == 200, kind
            templates[kind] = answer.content
        self.files = Files(rng, templates)

    # -- bookkeeping ---------------------------------------------------------------------------

    @staticmethod
    def counts() -> dict[str, int]:
        from maillage.accounts.models import User
        from maillage.directory.models import Contact, Establishment
        from maillage.events.models import NetworkDocument
        from maillage.flows.models import Flow, Visit
        from maillage.marketplace.models import Attachment, Lot, Need, Response
        from maillage.synergies.models import Suggestion

        models = (Establishment, Contact, Flow, Visit, Need, Lot, Response, Attachment, Suggestion,
                  NetworkDocument, User)  # fmt: skip
        return {model.__name__: model.objects.count() for model in models}

    def send(self, label: str, role: str, method: str, url: str, **kwargs) -> None:
        client = self.clients[role]
        before = self.counts()
        answer = getattr(client, method)(url, **kwargs)
        status = answer.status_code
        self.stats[(label, status // 100)] += 1
        where = f"{label} [{role}] {method.upper()} {url[:80]}"
        if status >= 500:
            self.problems.append(f"{where} → HTTP {status}")
            return
        kind = answer.get("Content-Type", "")
        body = b"".join(answer.streaming_content) if answer.streaming else answer.content
        if url.startswith("/api/") and status != 204 and not kind.startswith("application/json"):
            self.problems.append(f"{where} → réponse d'API non JSON ({kind})")
        if kind.startswith("text/html"):
            self.check_escaped(where, body.decode("utf-8", "replace"))
        to_login = status == 302 and answer.get("Location", "").startswith("/comptes/login/")
        if status == 201 or (status == 302 and not to_login):
            self.accepted += 1
        elif (after := self.counts()) != before:
            changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
            self.problems.append(
                f"{where} → refusée (HTTP {status}) mais lignes changées {changed}"
            )

    def check_escaped(self, where: str, html: str) -> None:
        raw = [payload for payload in XSS if payload in html]
        if raw:
            self.problems.append(f"{where} → charge non échappée dans le HTML : {raw[0]!r}")

    def s(self) -> str:
        return self.rng.choice(strings())

    # -- the request families --------------------------------------------------------------------

    def web_query(self) -> None:
        role = self.rng.choice(
            ["anonyme", "conseiller", "admin", "entreprise", "acheteur", "animateur"]
        )
        url = self.rng.choice(
            [
                "/etablissements/?q={}",
                "/etablissements/?q={}&visite={}",
                "/marche/fournisseurs/?q={}&category={}",
                "/synergies/?kind={}&status={}&page={}",
                "/synergies/tableau/?q={}",
                "/marche/?q={}&page={}",
                "/evenements/?page={}",
                "/journal/?page={}&q={}",
                "/tableau-de-bord/?category={}",
                "/carte/?category={}&resource_class={}",
                "/international/?q={}&pays={}",
                "/flux/codes-dechets/?q={}",
                "/etablissements/{}/",
                "/synergies/{}/",
                "/marche/besoins/{}/",
                "/import/modele/{}.xlsx",
                f"/reseaux/{self.network.pk}/membres/?q={{}}",
                "/reference/communes/?q={}",
            ]
        )
        from urllib.parse import quote

        values = [quote(self.s(), safe="") for _ in range(url.count("{}"))]
        self.send("web : paramètres", role, "get", url.format(*values))

    def api_query(self) -> None:
        role = self.rng.choice(["anonyme", "conseiller", "entreprise", "acheteur"])
        from urllib.parse import quote

        v = lambda: quote(self.s(), safe="")  # noqa: E731
        url = self.rng.choice(
            [
                f"/api/map/towns?west={v()}&south={v()}&east={v()}&north={v()}&min_population={v()}",
                f"/api/map/links?limit={v()}&status={v()}",
                f"/api/map/choropleth?level={v()}&unit={v()}&chamber={v()}",
                f"/api/map/establishments?category={v()}&network={v()}",
                f"/api/map/background?level=communes&departement={v()}",
                f"/api/establishments?q={v()}&page={v()}",
                f"/api/needs?status={v()}&page={v()}",
                f"/api/needs/{v()}",
                f"/api/suggestions?kind={v()}&limit={v()}&offset={v()}",
                f"/api/flows?category={v()}",
            ]
        )
        headers = {}
        if role == "acheteur" and self.rng.random() < 0.5:
            headers["Authorization"] = "Bearer " + self.rng.choice([self.token, self.s()[:200], ""])
        self.send("API : paramètres", role, "get", url, headers=headers)

    def api_body(self) -> None:
        role = self.rng.choice(["anonyme", "conseiller", "entreprise", "acheteur"])
        good = {
            "buyer": self.buyer.pk,
            "theme": "purchasing",
            "kind": "service",
            "title": "Usinage",
            "description": "Pièces",
            "category": "mechanics",
            "visibility": "platform",
            "closes_on": (datetime.date.today() + datetime.timedelta(days=20)).isoformat(),
            "lots": [{"title": "Lot", "category": "mechanics"}],
        }
        body = dict(good)
        for key in self.rng.sample(sorted(good), self.rng.randint(1, 3)):
            body[key] = self.rng.choice(
                [self.s(), int("9" * 30), -(2**63), 1e308, None, [], {"a": {"b": []}}, True]
            )
        raw = json.dumps(body, ensure_ascii=self.rng.random() < 0.5)
        choice = self.rng.random()
        if choice < 0.15:
            raw = raw[: self.rng.randint(0, len(raw) - 1)]  # truncated JSON
        elif choice < 0.2:
            raw = "[" * 5000 + "]" * 5000
        content_type = self.rng.choice(
            ["application/json"] * 4
            + ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
        )
        target = self.rng.choice(
            [
                ("/api/needs", "post"),
                (f"/api/needs/{self.need.pk}/publish", "post"),
                (f"/api/needs/{self.need.pk}/close", "post"),
                (
                    f"/api/needs/{self.need.pk}/lots/{self.rng.choice(['1', '999999999999999999999'])}/award",
                    "post",
                ),
                (f"/api/needs/{self.open_need.pk}/responses", "post"),
                (f"/api/needs/{self.need.pk}/invite", "post"),
                (f"/api/suggestions/{self.suggestion.pk}/status", "post"),
                ("/api/suggestions/99999999999999999999/status", "post"),
                ("/api/export-requests/1/answer", "post"),
            ]
        )
        headers = {"Authorization": f"Bearer {self.token}"} if role == "acheteur" else {}
        self.send(
            "API : corps", role, target[1], target[0], data=raw, content_type=content_type,
            headers=headers,
        )  # fmt: skip

    def import_upload(self) -> None:
        role = self.rng.choice(["conseiller"] * 5 + ["admin"] * 3 + ["entreprise", "anonyme"])
        kind = self.rng.choice(["etablissements", "contacts", "flux"])
        name, content, _what = self.files.pick(kind)
        from django.core.files.uploadedfile import SimpleUploadedFile

        upload = SimpleUploadedFile(
            name[:200], content,
            content_type=self.rng.choice(["application/vnd.ms-excel", "text/csv", "text/html", "application/octet-stream", "image/png"]),
        )  # fmt: skip
        posted_kind = kind if self.rng.random() < 0.85 else self.s()
        self.send(
            "import : dépôt", role, "post", "/import/", data={"kind": posted_kind, "file": upload}
        )
        if self.rng.random() < 0.3:
            digest = self.rng.choice(["", "0" * 64, self.s()])
            self.send(
                "import : confirmation",
                role,
                "post",
                "/import/",
                data={"confirm": "1", "digest": digest},
            )

    def need_form(self) -> None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        role = self.rng.choice(["acheteur"] * 4 + ["entreprise", "conseiller", "anonyme"])
        data = {
            "buyer": str(self.buyer.pk),
            "theme": "purchasing",
            "kind": "service",
            "title": "Usinage de pièces",
            "description": "Série de pièces.",
            "category": "mechanics",
            "quantity": "100",
            "budget": "lt25k",
            "visibility": "platform",
            "closes_on": (datetime.date.today() + datetime.timedelta(days=20)).isoformat(),
            "lots-TOTAL_FORMS": "1",
            "lots-INITIAL_FORMS": "0",
            "lots-0-title": "Lot",
            "lots-0-category": "mechanics",
        }
        for key in self.rng.sample(sorted(data), self.rng.randint(1, 4)):
            data[key] = self.s()
        if self.rng.random() < 0.5:
            name, content, _what = self.files.pick("flux")
            data["files"] = SimpleUploadedFile(name[:200], content, content_type="application/pdf")
        url = self.rng.choice(
            ["/marche/besoins/nouveau/", f"/marche/besoins/{self.need.pk}/modifier/"]
        )
        self.send("web : formulaire de besoin", role, "post", url, data=data)

    def response_form(self) -> None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        role = self.rng.choice(["entreprise"] * 3 + ["acheteur", "anonyme"])
        data = {"message": self.s(), "price": self.rng.choice(HUGE), "lots": self.s()}
        if self.rng.random() < 0.5:
            name, content, _what = self.files.pick("contacts")
            data["files"] = SimpleUploadedFile(name[:200], content)
        self.send(
            "web : réponse à un besoin",
            role,
            "post",
            f"/marche/besoins/{self.open_need.pk}/repondre/",
            data=data,
        )

    def establishment_form(self) -> None:
        role = self.rng.choice(["conseiller"] * 3 + ["admin", "entreprise", "anonyme"])
        data = {
            "siret": self.rng.choice(["12345678901234", "abc", self.s()]),
            "name": self.s(),
            "naf": self.rng.choice(["25.62A", self.s()]),
            "headcount_band": self.s(),
            "address": self.s(),
            "commune": self.rng.choice(["77288", self.s()]),
            "latitude": self.rng.choice(HUGE),
            "longitude": self.rng.choice(HUGE),
            "closed_on": self.rng.choice(["2024-02-30", "0000-00-00", self.s()]),
        }
        url = self.rng.choice(
            ["/etablissements/ajouter/", f"/etablissements/{self.establishment.pk}/modifier/"]
        )
        self.send("web : formulaire d'établissement", role, "post", url, data=data)

    def flow_form(self) -> None:
        role = self.rng.choice(["conseiller"] * 3 + ["entreprise", "anonyme"])
        data = {
            "direction": self.rng.choice(["offer", "need", self.s()]),
            "category": self.rng.choice(["waste", self.s()]),
            "resource_class": self.s(),
            "waste_code": self.s(),
            "quantity": self.rng.choice(HUGE),
            "unit": self.s(),
            "period": self.s(),
            "temperature_c": self.rng.choice(HUGE),
            "available_from": self.s(),
            "description": self.s(),
        }
        self.send(
            "web : formulaire de flux",
            role,
            "post",
            f"/flux/etablissement/{self.establishment.pk}/ajouter/",
            data=data,
        )

    def network_document(self) -> None:
        from django.core.files.uploadedfile import SimpleUploadedFile

        role = self.rng.choice(["animateur"] * 3 + ["entreprise", "anonyme"])
        name, content, _what = self.files.pick("contacts")
        data = {"title": self.s(), "file": SimpleUploadedFile(name[:200], content)}
        self.send(
            "web : document de réseau",
            role,
            "post",
            f"/reseaux/{self.network.pk}/documents/",
            data=data,
        )

    def login_form(self) -> None:
        # Unknown usernames only: no demo account gets locked out by the bench.
        data = {
            "username": f"inconnu-{self.rng.randint(1, 10**9)}{self.s()[:100]}",
            "password": self.s()[:200],
        }
        self.send("web : connexion", "anonyme", "post", "/comptes/login/", data=data)

    def rendered_again(self) -> None:
        """Pages that show what earlier accepted requests stored (needs, establishments…)."""
        from maillage.directory.models import Establishment
        from maillage.marketplace.models import Need

        for role, url in [
            ("acheteur", "/marche/"),
            ("entreprise", "/marche/"),
            ("conseiller", "/etablissements/"),
            ("conseiller", "/marche/fournisseurs/"),
            ("animateur", f"/reseaux/{self.network.pk}/"),
            ("acheteur", "/marche/notifications/"),
        ]:
            self.send("relecture", role, "get", url)
        for need in Need.objects.filter(created_by=self.users["acheteur"]).order_by("-pk")[:30]:
            self.send("relecture", "acheteur", "get", f"/marche/besoins/{need.pk}/")
        for est in Establishment.objects.order_by("-pk")[:10]:
            self.send("relecture", "conseiller", "get", f"/etablissements/{est.pk}/")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--template", default="load_db", help="base copiée (sans --database-url)")
    args = parser.parse_args()
    url = args.database_url or _copy_database(args.template, "load_bad_input")
    os.environ["DATABASE_URL"] = url
    var = Path(tempfile.mkdtemp(prefix="maillage-bad-input-"))
    os.environ.setdefault("MAILLAGE_VAR_DIR", str(var))
    os.environ.setdefault("MEDIA_ROOT", str(var / "media"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "maillage.config.settings"
    os.environ.setdefault("SECRET_KEY", "bad-input-" + "x" * 50)
    import django

    django.setup()
    import logging

    # A 4xx is expected by the hundred; only a 5xx (counted below) matters.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    for name in ("maillage.request", "axes", "django.security"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    rng = random.Random(args.seed)
    bench = Bench(rng)
    families = [
        (bench.web_query, 20),
        (bench.api_query, 15),
        (bench.api_body, 15),
        (bench.import_upload, 20),
        (bench.need_form, 10),
        (bench.response_form, 5),
        (bench.establishment_form, 5),
        (bench.flow_form, 5),
        (bench.network_document, 3),
        (bench.login_form, 2),
    ]
    started = time.perf_counter()
    before = bench.counts()
    while sum(bench.stats.values()) < args.count:
        family = rng.choices([f for f, _ in families], weights=[w for _, w in families])[0]
        family()
        done = sum(bench.stats.values())
        if done % 100 == 0:
            print(f"  {done} requêtes, {len(bench.problems)} problèmes", flush=True)
    bench.rendered_again()
    elapsed = time.perf_counter() - started
    after = bench.counts()
    print(f"{'famille':<36} {'2xx':>5} {'3xx':>5} {'4xx':>5} {'5xx':>5}")
    for label in sorted({label for label, _ in bench.stats}):
        cells = [bench.stats[(label, c)] for c in (2, 3, 4, 5)]
        print(f"{label:<36} " + " ".join(f"{n:>5}" for n in cells))
    total = sum(bench.stats.values())
    print(
        f"{total} requêtes en {elapsed:.0f} s ({url.rsplit('/', 1)[-1]}), {bench.accepted} acceptées ;"
        f" lignes avant → après : "
        + ", ".join(f"{k} {before[k]}→{after[k]}" for k in before if before[k] != after[k])
    )
    if bench.problems:
        print(f"ÉCHEC : {len(bench.problems)} problèmes")
        for problem in bench.problems[:40]:
            print("  " + problem)
        raise SystemExit(1)
    print("aucune 5xx, charges échappées, lignes inchangées après chaque refus")


if __name__ == "__main__":
    main()
