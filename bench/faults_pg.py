"""Fault: PostgreSQL restarted while `bin/serve` is under load (issue 13, point 5).

    python bench/faults_pg.py [--clients 8] [--down 10] [--conn-max-age 60] [--source-url URL]

Never touches the shared cluster: a private PostgreSQL 15 cluster is created under /tmp
(``initdb`` and ``pg_ctl`` as the ``postgres`` OS user) on a free port, loaded like the load test
(reference data, demo territory, marketplace demo, detection; or copied by pg_dump from
``--source-url``, e.g. the load test's ``load_db``), and the application is served on
it by ``bin/serve``. Logged-in clients (advisor, company user, anonymous visitor, API map layer,
``/sante/``) request pages in a loop; after a steady phase the cluster is stopped for ``--down``
seconds, then started again. Asserts:

- before the stop and once the cluster is back, every request succeeds;
- while it is down, every failing request gets status 500 or 503 with the French error page (or,
  for the API and ``/sante/``, a JSON error): no traceback, no English debug page;
- the application recovers by itself (no restart of gunicorn) within ``--recover`` seconds.

Prints the figures (requests per phase, time to the first and to the last failure, recovery
time) and exits non-zero on failure.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load  # noqa: E402 (bench/load.py: database preparation and server helpers)

PG_BIN = Path("/usr/lib/postgresql/15/bin")
FRENCH_ERROR = "Erreur du serveur"
# What Django's technical pages and a raw traceback contain; none may reach a user.
LEAKS = (
    "Traceback",
    "Exception Value",
    "OperationalError",
    "psycopg",
    "DEBUG = True",
    "Request Method",
)


@dataclass
class Answer:
    at: float
    client: str
    url: str
    status: int
    ok: bool
    problem: str


def _pg(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["runuser", "-u", "postgres", "--", *args], check=check, text=True)


class PrivateCluster:
    """A throw-away PostgreSQL 15 cluster owned by the ``postgres`` OS user, under /tmp."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="maillage-pg-"))
        shutil.chown(self.dir, "postgres", "postgres")
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"

    def init(self) -> None:
        _pg(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--locale=C.UTF-8")  # fmt: skip
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.dir}'\nfsync = off\n"
            )

    def start(self) -> None:
        _pg(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "start")

    def stop(self) -> None:
        _pg(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/maillage"


def copy_database(source: str, cluster: PrivateCluster) -> None:
    """Copy ``source`` (read only: pg_dump) into the private cluster's database."""
    started = time.perf_counter()
    subprocess.run(["createdb", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres",
                    "maillage"], check=True)  # fmt: skip
    dump = subprocess.Popen(["pg_dump", "--format=custom", source], stdout=subprocess.PIPE)
    subprocess.run(
        ["pg_restore", "--no-owner", "-d", cluster.url.replace("postgres://", "postgresql://")],
        stdin=dump.stdout,
        check=True,
    )
    if dump.wait() != 0:
        raise SystemExit("pg_dump a échoué")
    print(f"base copiée depuis {source} en {time.perf_counter() - started:.0f} s", flush=True)


def login(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/comptes/login/", timeout=30)
    token = load._form_fields(page.text)["csrfmiddlewaretoken"]
    answer = session.post(
        base + "/comptes/login/",
        {"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": base + "/comptes/login/"},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302:
        raise SystemExit(f"connexion de {username} refusée ({answer.status_code})")
    return session


def check(answer: requests.Response, json_api: bool) -> tuple[bool, str]:
    """(success, problem): a success is a 200; a failure must be a clean French 500/503."""
    if answer.status_code == 200:
        return True, ""
    body = answer.text
    leaks = [leak for leak in LEAKS if leak in body]
    if answer.status_code not in (500, 503):
        return False, f"statut {answer.status_code}"
    if leaks:
        return False, f"fuite dans la page d'erreur : {leaks}"
    if json_api:
        if not answer.headers.get("Content-Type", "").startswith("application/json"):
            return False, "erreur d'API non JSON"
    elif FRENCH_ERROR not in body or 'lang="fr"' not in body:
        return False, "page d'erreur non française"
    return False, ""


def client_loop(
    name: str, session: requests.Session, base: str, urls: list[str], stop: threading.Event,
    answers: list[Answer],
) -> None:  # fmt: skip
    i = 0
    while not stop.is_set():
        url = urls[i % len(urls)]
        i += 1
        json_api = url.startswith(("/api/", "/sante/"))
        try:
            answer = session.get(base + url, timeout=30, allow_redirects=False)
            ok, problem = check(answer, json_api)
            status = answer.status_code
        except requests.RequestException as error:
            ok, problem, status = False, f"pas de réponse : {type(error).__name__}", 0
        answers.append(Answer(time.monotonic(), name, url, status, ok, problem))
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="clients en parallèle")
    parser.add_argument("--steady", type=float, default=20, help="secondes avant l'arrêt")
    parser.add_argument("--down", type=float, default=10, help="secondes d'arrêt de PostgreSQL")
    parser.add_argument("--after", type=float, default=30, help="secondes après le redémarrage")
    parser.add_argument("--recover", type=float, default=5, help="délai de reprise toléré (s)")
    parser.add_argument("--conn-max-age", type=int, default=60, help="DB_CONN_MAX_AGE (s)")
    parser.add_argument("--workers", type=int, default=3, help="WEB_CONCURRENCY (gunicorn)")
    parser.add_argument(
        "--source-url",
        default="",
        help="copier cette base (pg_dump) au lieu de la construire, p. ex. celle de bench/load.py",
    )
    args = parser.parse_args()

    cluster = PrivateCluster(load._free_port())
    out = Path(tempfile.mkdtemp(prefix="maillage-faults-"))  # kept: serve.log for a post-mortem
    server = None
    try:
        cluster.init()
        cluster.start()
        print(f"cluster privé PostgreSQL 15 : port {cluster.port}, {cluster.data}", flush=True)
        env = load.server_env(cluster.url, out / "var", args.workers)
        env["DB_CONN_MAX_AGE"] = str(args.conn_max_age)
        if args.source_url:
            copy_database(args.source_url, cluster)
            # The offline map boundaries built for that database, if bench/load.py left them.
            atlas = Path(tempfile.gettempdir()) / (
                f"maillage-load-var-{args.source_url.rsplit('/', 1)[1]}"
            ) / "atlas"  # fmt: skip
            if atlas.is_dir():
                shutil.copytree(atlas, out / "var" / "atlas")
        else:
            load.prepare_database(env, cluster.url)
        port = load._free_port()
        base = f"http://127.0.0.1:{port}"
        out.mkdir(parents=True, exist_ok=True)
        server = load.start_server(env, port, out / "serve.log")
        load._wait_healthy(base, server)
        plan_file = out / "plan.json"
        subprocess.run(
            [load.PY, load.__file__, "--write-plan", str(plan_file)],
            cwd=load.ROOT,
            env=env,
            check=True,
        )
        import json

        plan = json.loads(plan_file.read_text())
        advisor = plan["advisors"][0]
        est, sugg = advisor["establishments"][0], advisor["suggestions"][0]
        advisor_urls = ["/", "/etablissements/?q=sa", f"/etablissements/{est}/", "/synergies/",
                        f"/synergies/{sugg}/", "/api/map/establishments"]  # fmt: skip
        company_urls = ["/synergies/opportunites/", "/marche/notifications/", "/marche/"]
        anonymous_urls = ["/", "/carte/", "/api/map/choropleth?level=epci", "/sante/"]
        clients = []
        for i in range(args.clients):
            kind = i % 3
            if kind == 0:
                session = login(base, advisor["username"], plan["password"])
                clients.append((f"conseiller-{i}", session, advisor_urls))
            elif kind == 1:
                session = login(
                    base, plan["companies"][i % len(plan["companies"])], plan["password"]
                )
                clients.append((f"entreprise-{i}", session, company_urls))
            else:
                clients.append((f"anonyme-{i}", requests.Session(), anonymous_urls))
        answers: list[Answer] = []
        stop = threading.Event()
        threads = [
            threading.Thread(target=client_loop, args=(n, s, base, u, stop, answers), daemon=True)
            for n, s, u in clients
        ]
        for thread in threads:
            thread.start()
        time.sleep(args.steady)
        stopped_at = time.monotonic()
        cluster.stop()
        print(f"PostgreSQL arrêté ({args.down:.0f} s)", flush=True)
        time.sleep(args.down)
        cluster.start()
        back_at = time.monotonic()
        print("PostgreSQL redémarré", flush=True)
        time.sleep(args.after)
        stop.set()
        for thread in threads:
            thread.join(60)
        alive = server.poll() is None
    finally:
        if server is not None:
            load.stop_server(server)
        cluster.remove()

    before = [a for a in answers if a.at < stopped_at]
    during = [a for a in answers if stopped_at <= a.at < back_at]
    after = [a for a in answers if a.at >= back_at]
    failed_after = [a for a in after if not a.ok]
    last_failure = max((a.at for a in failed_after), default=back_at)
    recovery = last_failure - back_at
    unclean = [a for a in answers if a.problem]
    print(f"{'phase':<28} {'requêtes':>9} {'réussies':>9} {'500/503 propres':>16} {'autres':>7}")
    for label, part in (("avant l'arrêt", before), ("PostgreSQL arrêté", during),
                        ("après le redémarrage", after)):  # fmt: skip
        clean = sum(1 for a in part if not a.ok and not a.problem)
        print(
            f"{label:<28} {len(part):>9} {sum(a.ok for a in part):>9} {clean:>16}"
            f" {sum(1 for a in part if a.problem):>7}"
        )
    statuses = sorted({a.status for a in during})
    print(f"statuts pendant l'arrêt : {statuses}")
    print(f"dernier échec {recovery:.2f} s après le redémarrage de PostgreSQL")
    print(
        f"DB_CONN_MAX_AGE={args.conn_max_age}, {args.workers} processus gunicorn, {args.clients} clients"
    )
    problems = []
    if not alive:
        problems.append("bin/serve s'est arrêté pendant l'essai")
    if any(not a.ok for a in before):
        problems.append("des requêtes ont échoué avant l'arrêt")
    if not any(not a.ok for a in during):
        problems.append("aucune requête n'a échoué pendant l'arrêt (l'essai ne prouve rien)")
    if unclean:
        sample = "; ".join(f"{a.client} {a.url} : {a.problem}" for a in unclean[:5])
        problems.append(f"{len(unclean)} réponses non conformes ({sample})")
    if recovery > args.recover:
        problems.append(f"reprise en {recovery:.1f} s (toléré : {args.recover:.0f} s)")
    tail = [a for a in after if a.at > back_at + args.recover]
    if not tail or not all(a.ok for a in tail):
        problems.append("des requêtes échouent encore après le délai de reprise")
    print(f"journal du serveur : {out / 'serve.log'}")
    if problems:
        print("ÉCHEC :\n" + "\n".join(problems))
        raise SystemExit(1)
    print("PostgreSQL redémarré : pages d'erreur propres en français, reprise automatique")


if __name__ == "__main__":
    main()
