"""A deterministic demo territory: three chambers of Île-de-France, ~5,000 establishments in real
communes, ~400 visited with ~2,000 flows that follow their sector's profile, a club of eco-companies
inside a federation, and demo users for every role.

Everything derives from ``random.Random(seed)`` and the reference data, and is written with
"create what is missing, update what differs", so that loading twice changes nothing.
"""

from __future__ import annotations

import datetime
import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from stdnum import luhn

from maillage.accounts.models import Chamber, DataSharingAgreement, TerritoryCommune, User
from maillage.directory.models import Contact, Establishment
from maillage.engine import taxonomy
from maillage.engine.headcount import typical_headcount
from maillage.events.demo import load as load_events_demo
from maillage.flows.models import Flow, Visit
from maillage.ingest.demo_data import (
    DEFAULT_QUANTITY,
    FATES,
    FIRST_NAMES,
    LEGAL_FORMS,
    STREETS,
    SURNAMES,
    TRADE_WORDS,
    UNIT_SYMBOL,
    plausible_codes,
)
from maillage.ingest.distributions import DIVISION_WEIGHTS, HEADCOUNT_WEIGHTS
from maillage.marketplace.models import SupplierProfile
from maillage.marketplace.services import refresh_search_text
from maillage.networks.models import Membership, Network
from maillage.reference.models import Commune, NafCode, ResourceClass, WasteCode

DEMO_PASSWORD = "maillage-demo"  # noqa: S105 - printed by `make demo`, demo data only

CHAMBERS: list[dict[str, Any]] = [
    {
        "slug": "cci-versailles",
        "name": "CCI Versailles-Val-d'Oise/Yvelines",
        "short": "versailles",
        "departements": ["78", "95"],
    },
    {
        "slug": "cci-seine-et-marne",
        "name": "CCI Seine-et-Marne",
        "short": "seine-et-marne",
        "departements": ["77"],
    },
    {"slug": "cci-essonne", "name": "CCI Essonne", "short": "essonne", "departements": ["91"]},
]
AGREEMENT = ("cci-seine-et-marne", "cci-essonne", datetime.date(2024, 1, 1))

INDUSTRIAL_DIVISIONS = {f"{d:02d}" for d in range(5, 40)}


@dataclass
class DemoSummary:
    created: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    logins: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, what: str, n: int) -> None:
        self.created[what] += n


def _weighted(rng: random.Random, weights: dict[str, float]) -> str:
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _siret(rng: random.Random, taken: set[str]) -> str:
    while True:
        siren_base = f"{rng.randrange(10_000_000, 99_999_999):08d}"
        siren = siren_base + luhn.calc_check_digit(siren_base)
        nic_base = f"0{rng.randrange(1, 9999):04d}"[:4]
        base = siren + nic_base
        siret = base + luhn.calc_check_digit(base)
        if siret not in taken:
            taken.add(siret)
            return siret


def _round3(x: float) -> float:
    """Three significant digits, as people state quantities."""
    if x <= 0:
        return 0.0
    digits = 2 - int(math.floor(math.log10(x)))
    return round(x, max(digits, 0))


class DemoBuilder:
    def __init__(self, seed: int, n_establishments: int = 5000, n_visited: int = 400):
        self.seed = seed
        self.rng = random.Random(seed)
        self.n_establishments = n_establishments
        self.n_visited = n_visited
        self.summary = DemoSummary()

    # -- chambers, territories, agreement -------------------------------------------------------
    def chambers(self) -> dict[str, Chamber]:
        chambers = {}
        for spec in CHAMBERS:
            chamber, created = Chamber.objects.update_or_create(
                slug=spec["slug"], defaults={"name": spec["name"], "kind": Chamber.Kind.CCI}
            )
            self.summary.add("chambres", int(created))
            chambers[spec["slug"]] = chamber
            taken = set(TerritoryCommune.objects.values_list("commune_id", flat=True))
            missing = [
                TerritoryCommune(chamber=chamber, commune_id=code)
                for code in Commune.objects.filter(departement_id__in=spec["departements"])
                .order_by("code")
                .values_list("code", flat=True)
                if code not in taken
            ]
            TerritoryCommune.objects.bulk_create(missing)
            self.summary.add("communes rattachées", len(missing))
        a, b, start = AGREEMENT
        _agreement, created = DataSharingAgreement.objects.get_or_create(
            chamber_a=chambers[a],
            chamber_b=chambers[b],
            start=start,
            defaults={
                "scope": DataSharingAgreement.Scope.FLOWS,
                "note": "Coopération CCI Seine-et-Marne / CCI Essonne",
            },
        )
        self.summary.add("conventions", int(created))
        return chambers

    # -- users ------------------------------------------------------------------------------------
    def _user(self, username: str, role: str, first: str, last: str, chamber=None, **flags) -> User:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "role": role,
                "first_name": first,
                "last_name": last,
                "chamber": chamber,
                "email": f"{username}@demo.maillage.localhost",
                **flags,
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        self.summary.add("utilisateurs", int(created))
        self.summary.logins.append((username, DEMO_PASSWORD, user.get_role_display()))
        return user

    def staff_users(self, chambers: dict[str, Chamber]) -> dict[str, list[User]]:
        self._user(
            "admin",
            User.Role.CHAMBER_ADMIN,
            "Alice",
            "Administratrice",
            chambers["cci-versailles"],
            is_staff=True,
            is_superuser=True,
        )
        advisors: dict[str, list[User]] = {}
        for spec in CHAMBERS:
            chamber = chambers[spec["slug"]]
            self._user(
                f"admin.{spec['short']}",
                User.Role.CHAMBER_ADMIN,
                "Bruno",
                f"Admin {spec['short'].title()}",
                chamber,
                is_staff=True,
            )
            advisors[spec["slug"]] = [
                self._user(
                    f"conseiller{i}.{spec['short']}",
                    User.Role.ADVISOR,
                    FIRST_NAMES[i + len(advisors) * 2],
                    SURNAMES[i + len(advisors) * 2],
                    chamber,
                )
                for i in (1, 2)
            ]
        return advisors

    # -- establishments ---------------------------------------------------------------------------
    def establishments(self, chambers: dict[str, Chamber]) -> list[Establishment]:
        rng = self.rng
        subclasses = defaultdict(list)
        for code in (
            NafCode.objects.filter(level="subclass").order_by("code").values_list("code", flat=True)
        ):
            subclasses[code[:2]].append(code)
        communes_by_chamber = {}
        for spec in CHAMBERS:
            communes_by_chamber[spec["slug"]] = list(
                Commune.objects.filter(
                    departement_id__in=spec["departements"], latitude__isnull=False
                ).order_by("code")
            )
        population = {
            slug: sum(c.population or 0 for c in cs) for slug, cs in communes_by_chamber.items()
        }
        taken: set[str] = set()
        wanted: list[Establishment] = []
        for slug, communes in communes_by_chamber.items():
            share = population[slug] / sum(population.values())
            count = round(self.n_establishments * share)
            weights = [max(c.population or 0, 50) for c in communes]
            for _i in range(count):
                commune = rng.choices(communes, weights=weights)[0]
                division = _weighted(rng, DIVISION_WEIGHTS)
                naf = rng.choice(subclasses[division])
                band = _weighted(rng, HEADCOUNT_WEIGHTS)
                if division in INDUSTRIAL_DIVISIONS and band in ("NN", "00") and rng.random() < 0.7:
                    band = rng.choice(["03", "11", "12", "21", "22"])
                surname = rng.choice(SURNAMES)
                word = rng.choice(TRADE_WORDS.get(division, ["Établissements"]))
                name = f"{word} {surname}{rng.choice(LEGAL_FORMS)}"
                # ~1 km scatter around the town hall, as activity zones sit at a town's edge.
                lat = (commune.latitude or 0.0) + rng.gauss(0, 0.008)  # latitude: filtered above
                lon = (commune.longitude or 0.0) + rng.gauss(0, 0.011)
                wanted.append(
                    Establishment(
                        siret=_siret(rng, taken),
                        name=name,
                        naf_id=naf,
                        headcount_band=band,
                        address=f"{rng.randint(1, 180)} {rng.choice(STREETS)}",
                        commune_id=commune.code,
                        latitude=round(lat, 6),
                        longitude=round(lon, 6),
                        is_active=True,
                        is_large_buyer=band in ("32", "41", "42", "51"),
                    )
                )
        fields = [
            "name",
            "naf_id",
            "headcount_band",
            "address",
            "commune_id",
            "latitude",
            "longitude",
            "is_active",
            "is_large_buyer",
        ]
        existing = {e.siret: e for e in Establishment.objects.filter(siret__in=taken)}
        to_create = [e for e in wanted if e.siret not in existing]
        to_update = []
        for e in wanted:
            current = existing.get(e.siret)
            if current and any(getattr(current, f) != getattr(e, f) for f in fields):
                e.pk = current.pk
                to_update.append(e)
        Establishment.objects.bulk_create(to_create, batch_size=1000)
        if to_update:
            Establishment.objects.bulk_update(to_update, fields, batch_size=1000)

            refresh_search_text(SupplierProfile.objects.filter(establishment__in=to_update))
        self.summary.add("établissements", len(to_create))
        by_siret = {e.siret: e for e in Establishment.objects.filter(siret__in=taken)}
        return [by_siret[e.siret] for e in wanted]

    # -- visits and flows -------------------------------------------------------------------------
    def visits_and_flows(self, establishments, advisors) -> list[Establishment]:
        rng = self.rng
        # the profile of each establishment's NAF class (or group, or division: the most
        # specific the taxonomy describes)
        profiles = {
            code: taxonomy.profile_entries(code) for code in {e.naf_id for e in establishments}
        }
        classes = {c.code: c for c in ResourceClass.objects.all()}
        codes_by_class = defaultdict(list)
        for code, klass, hazardous in (
            WasteCode.objects.filter(level="entry")
            .order_by("code")
            .values_list("code", "resource_class_id", "hazardous")
        ):
            codes_by_class[(klass, hazardous)].append(code)
        chamber_of = dict(TerritoryCommune.objects.values_list("commune_id", "chamber__slug"))

        def visit_weight(e: Establishment) -> float:
            w = 4.0 if e.naf_id[:2] in INDUSTRIAL_DIVISIONS else 1.0
            w *= 1 + math.log1p(typical_headcount(e.headcount_band))
            return w if profiles[e.naf_id] else 0.0

        candidates = [e for e in establishments if visit_weight(e) > 0]
        weights = [visit_weight(e) for e in candidates]
        chosen: dict[int, Establishment] = {}
        while len(chosen) < min(self.n_visited, len(candidates)):
            e = rng.choices(candidates, weights=weights)[0]
            chosen.setdefault(e.pk, e)
        visited = sorted(chosen.values(), key=lambda e: e.siret)

        existing_visits = {
            (v.establishment_id, v.date): v
            for v in Visit.objects.filter(establishment__in=[e.pk for e in visited])
        }
        new_visits, plans = [], []
        for e in visited:
            advisor = rng.choice(advisors[chamber_of[e.commune_id]])
            date = datetime.date(2024, 1, 8) + datetime.timedelta(days=rng.randrange(0, 640))
            visit = existing_visits.get((e.pk, date))
            if visit is None:
                visit = Visit(
                    establishment=e,
                    advisor=advisor,
                    date=date,
                    notes="Visite de recensement des flux (démonstration).",
                )
                new_visits.append(visit)
            plans.append(
                (e, visit, self._flow_plan(rng, e, profiles[e.naf_id], classes, codes_by_class))
            )
        Visit.objects.bulk_create(new_visits)
        self.summary.add("visites", len(new_visits))

        existing_flows = set(
            Flow.objects.filter(visit__in=[v.pk for _e, v, _p in plans]).values_list(
                "visit_id", "direction", "resource_class_id"
            )
        )
        new_flows = []
        for e, visit, plan in plans:
            for data in plan:
                if (visit.pk, data["direction"], data["resource_class_id"]) in existing_flows:
                    continue
                flow = Flow(establishment=e, visit=visit, **data)
                flow.compute_yearly()
                new_flows.append(flow)
        Flow.objects.bulk_create(new_flows, batch_size=1000)
        self.summary.add("flux", len(new_flows))
        self._contacts(rng, visited)
        return visited

    def _flow_plan(self, rng, e, profile, classes, codes_by_class) -> list[dict]:
        plan, seen = [], set()
        headcount = typical_headcount(e.headcount_band)
        for entry in profile:
            if rng.random() > min(1.0, entry.weight * 0.85) or entry.class_code not in classes:
                continue
            key = (entry.direction, entry.class_code)
            if key in seen:
                continue
            seen.add(key)
            klass = classes[entry.class_code]
            if entry.t_per_employee_year:
                amount = entry.t_per_employee_year * max(headcount, 1) * rng.lognormvariate(0, 0.5)
            else:
                low, high = DEFAULT_QUANTITY.get(klass.unit, (1, 100))
                amount = rng.uniform(low, high) * (1 + math.log1p(headcount) / 3)
            data = {
                "direction": entry.direction,
                "category": klass.category,
                "resource_class_id": klass.code,
                "quantity": _round3(amount) or 1,
                "unit": UNIT_SYMBOL.get(klass.unit, "t"),
                "period": "once" if klass.category in ("equipment", "space") else "year",
                "physical_state": self._state(klass),
                "description": self._description(rng, entry.direction, klass),
            }
            if klass.category == "waste" and entry.direction == "offer":
                codes = codes_by_class.get((klass.code, klass.hazardous)) or codes_by_class.get(
                    (klass.code, not klass.hazardous), []
                )
                if codes:
                    data["waste_code_id"] = rng.choice(plausible_codes(codes, e.naf_id[:2]))
            if "heat" in klass.code or "steam" in klass.code:
                data["temperature_c"] = float(
                    rng.randrange(45, 95) if entry.direction == "offer" else rng.randrange(30, 70)
                )
            plan.append(data)
        return plan

    @staticmethod
    def _state(klass) -> str:
        if klass.category == "water":
            return Flow.State.LIQUID
        if klass.category in ("waste", "material"):
            return Flow.State.SOLID
        return Flow.State.NA

    @staticmethod
    def _description(rng, direction: str, klass) -> str:
        label = klass.label
        if direction == "offer":
            if klass.category == "waste":
                return f"{label} issus de l'activité, actuellement {rng.choice(FATES)}."
            return f"{label} disponible(s) pour d'autres entreprises du territoire."
        return f"{label} : besoin régulier de l'établissement, fournisseur actuel hors territoire."

    def _contacts(self, rng, visited) -> None:
        existing = set(
            Contact.objects.filter(establishment__in=[e.pk for e in visited]).values_list(
                "establishment_id", flat=True
            )
        )
        new = []
        for e in visited:
            first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
            if e.pk in existing:
                continue
            slug = f"{first}.{last}".lower().replace("é", "e").replace("è", "e").replace("ë", "e")
            new.append(
                Contact(
                    establishment=e,
                    first_name=first,
                    last_name=last,
                    role=rng.choice(
                        [
                            "Dirigeant",
                            "Responsable QSE",
                            "Responsable de site",
                            "Directeur technique",
                        ]
                    ),
                    email=f"{slug}@entreprise-demo.localhost",
                    phone=f"01 {rng.randrange(10, 99)} {rng.randrange(10, 99)} "
                    f"{rng.randrange(10, 99)} {rng.randrange(10, 99)}",
                )
            )
        Contact.objects.bulk_create(new)
        self.summary.add("contacts", len(new))

    # -- networks ---------------------------------------------------------------------------------
    def networks(self, chambers, establishments) -> Network:
        federation, created = Network.objects.get_or_create(
            name="Fédération des clubs d'entreprises d'Île-de-France",
            defaults={
                "kind": Network.Kind.FEDERATION,
                "description": "Fédération régionale des clubs et réseaux d'entreprises.",
            },
        )
        self.summary.add("réseaux", int(created))
        club, created = Network.objects.get_or_create(
            name="Club des éco-entreprises des Yvelines et du Val-d'Oise",
            defaults={
                "kind": Network.Kind.CLUB,
                "federation": federation,
                "chamber": chambers["cci-versailles"],
                "description": "Réseau des entreprises de l'environnement et de l'éco-"
                "industrie, animé par la CCI.",
            },
        )
        self.summary.add("réseaux", int(created))
        eco_divisions = {"35", "36", "37", "38", "39", "71", "72", "43", "28", "20", "22", "25"}
        rng = random.Random(self.seed + 1)
        in_territory = [e for e in establishments if e.commune.departement_id in ("78", "95")]
        eco = [e for e in in_territory if e.naf_id[:2] in eco_divisions]
        rng.shuffle(eco)
        members = eco[:230]
        existing = set(
            Membership.objects.filter(network=club).values_list("establishment_id", flat=True)
        )
        new = [
            Membership(
                establishment=e,
                network=club,
                since=datetime.date(2012, 1, 1) + datetime.timedelta(days=rng.randrange(4000)),
            )
            for e in members
            if e.pk not in existing
        ]
        Membership.objects.bulk_create(new)
        self.summary.add("adhésions", len(new))
        return club

    def company_users(self, visited, club) -> None:
        """Two visited companies of the 77/91 agreement area, a large buyer and a club animator."""
        by_chamber = defaultdict(list)
        chamber_of = dict(TerritoryCommune.objects.values_list("commune_id", "chamber__slug"))
        for e in visited:
            by_chamber[chamber_of[e.commune_id]].append(e)
        picks = [
            ("entreprise1", by_chamber["cci-seine-et-marne"][0]),
            ("entreprise2", by_chamber["cci-essonne"][0]),
            ("entreprise3", by_chamber["cci-versailles"][0]),
        ]
        buyers = [e for e in visited if e.is_large_buyer]
        if buyers:
            picks.append(("acheteur", buyers[0]))
        for username, establishment in picks:
            user = self._user(
                username, User.Role.COMPANY, "Dominique", establishment.name[:100], None
            )
            user.establishments.add(establishment)
        animator = self._user("animateur.club", User.Role.ANIMATOR, "Hugo", "Animateur", None)
        club.animators.add(animator)


@transaction.atomic
def load_demo(seed: int = 1, n_establishments: int = 5000, n_visited: int = 400) -> DemoSummary:
    if not NafCode.objects.exists() or not Commune.objects.exists():
        raise RuntimeError(
            "Les référentiels ne sont pas chargés : lancez d'abord « manage.py load_reference »."
        )
    builder = DemoBuilder(seed, n_establishments, n_visited)
    chambers = builder.chambers()
    advisors = builder.staff_users(chambers)
    establishments = builder.establishments(chambers)
    establishments = list(
        Establishment.objects.filter(pk__in=[e.pk for e in establishments])
        .select_related("commune")
        .order_by("siret")
    )
    visited = builder.visits_and_flows(establishments, advisors)
    club = builder.networks(chambers, establishments)
    builder.company_users(visited, club)

    load_events_demo(builder, chambers, club)
    return builder.summary
