"""Reads of the marketplace (always through marketplace.policy): needs with their counters, matching
input for the engine, the sourcing directory search, consortium suggestions."""

from __future__ import annotations

import hashlib
from collections import defaultdict

import numpy as np
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import Count, F, Q, QuerySet

from maillage.accounts.models import User
from maillage.directory.models import Contact, Establishment
from maillage.engine import consortia, marketplace, taxonomy
from maillage.engine.geo import haversine_km
from maillage.engine.headcount import HEADCOUNT_BANDS, typical_headcount
from maillage.marketplace import policy
from maillage.marketplace.models import CATEGORY_NAF, Match, Need, Response, SupplierProfile

# The PostgreSQL text search configuration of the directory (created by migration 0004).
SEARCH_CONFIG = "maillage_french"

SIZE_BANDS = {
    "tpe": [b for b, (_l, _lo, hi) in HEADCOUNT_BANDS.items() if hi < 10],
    "pme": [b for b, (_l, lo, hi) in HEADCOUNT_BANDS.items() if lo >= 10 and hi < 250],
    "grande": [b for b, (_l, lo, _hi) in HEADCOUNT_BANDS.items() if lo >= 250],
}


def with_counters(qs: QuerySet) -> QuerySet:
    """Per-need counters derived from the match and response rows (never stored twice)."""
    return qs.annotate(
        n_notified=Count("matches", filter=Q(matches__notified_at__isnull=False), distinct=True),
        n_seen=Count("matches", filter=Q(matches__seen_at__isnull=False), distinct=True),
        n_responses=Count("responses", distinct=True),
    )


def needs_for(user, q: str = "", theme: str = "", mine: bool = False) -> QuerySet:
    qs = policy.visible_needs(user)
    if mine:
        qs = qs.filter(buyer__users=user)
    else:
        qs = qs.exclude(status__in=[Need.Status.DRAFT, Need.Status.ARCHIVED])
    if theme in Need.Theme.values:
        qs = qs.filter(theme=theme)
    for word in q.split()[:8]:
        qs = qs.filter(
            Q(title__icontains=word) | Q(description__icontains=word) | Q(expertise__icontains=word)
        )
    return with_counters(qs.select_related("buyer__commune", "delivery_commune")).order_by(
        "-published_at", "-created_at", "-pk"
    )


def group_member_ids(response: Response) -> list[int]:
    """The members of the group a response speaks for, by id ([] for a supplier answering
    alone)."""
    group = response.consortium
    if group is None:
        return []
    return list(group.members.order_by("pk").values_list("pk", flat=True))


def users_of(establishment_ids) -> dict[int, list[User]]:
    """Company users of each establishment (one query)."""
    out: dict[int, list[User]] = defaultdict(list)
    through = User.establishments.through
    rows = (
        through.objects.filter(establishment_id__in=list(establishment_ids), user__is_active=True)
        .select_related("user")
        .order_by("establishment_id", "user_id")
    )
    for row in rows:
        out[row.establishment_id].append(row.user)
    return out


def contact_emails_of(establishment_ids) -> dict[int, list[str]]:
    """The e-mail addresses of each establishment's contacts (lowercased, once each)."""

    out: dict[int, list[str]] = defaultdict(list)
    rows = (
        Contact.objects.filter(establishment_id__in=list(establishment_ids))
        .exclude(email="")
        .order_by("establishment_id", "pk")
        .values_list("establishment_id", "email")
    )
    for establishment_id, email in rows:
        if email.lower() not in out[establishment_id]:
            out[establishment_id].append(email.lower())
    return out


def award_contacts(establishment_ids) -> list[dict]:
    """The people to talk to at these establishments: their contacts and their users (name,
    role, e-mail, phone), per establishment in the given order. Callers check the policy
    (policy.award_contact_establishment_ids)."""

    ids = list(dict.fromkeys(establishment_ids))
    names = dict(Establishment.objects.filter(pk__in=ids).values_list("pk", "name"))
    out: list[dict] = []
    for establishment_id in ids:
        seen: set[str] = set()
        for c in Contact.objects.filter(establishment_id=establishment_id).order_by(
            "last_name", "first_name", "pk"
        ):
            seen.add(c.email.lower())
            out.append(
                {
                    "establishment_id": establishment_id,
                    "establishment": names.get(establishment_id, ""),
                    "name": f"{c.first_name} {c.last_name}".strip(),
                    "role": c.role,
                    "email": c.email,
                    "phone": c.phone,
                }
            )
        for u in users_of([establishment_id]).get(establishment_id, []):
            if u.email and u.email.lower() not in seen:
                seen.add(u.email.lower())
                out.append(
                    {
                        "establishment_id": establishment_id,
                        "establishment": names.get(establishment_id, ""),
                        "name": u.get_full_name() or u.username,
                        "role": "",
                        "email": u.email,
                        "phone": "",
                    }
                )
    return out


def need_naf_codes(need: Need) -> tuple[str, ...]:
    codes: list[str] = list(CATEGORY_NAF.get(need.category, ()))
    for lot in need.lots.all():
        codes.extend(CATEGORY_NAF.get(lot.category, ()))
    return tuple(dict.fromkeys(codes))


def need_text(need: Need) -> str:
    lots = " ".join(lot.title for lot in need.lots.all())
    return " ".join([need.title, need.description, need.expertise, need.skills, lots])


def need_place(need: Need) -> tuple[float | None, float | None]:
    commune = need.delivery_commune
    if commune is not None and commune.latitude is not None:
        return commune.latitude, commune.longitude
    buyer = need.buyer
    if buyer.latitude is not None:
        return buyer.latitude, buyer.longitude
    return buyer.commune.latitude, buyer.commune.longitude


def candidate_profiles(need: Need) -> QuerySet:
    """Active supplier profiles whose establishment may see the need (its audience), not the
    buyer's own."""
    qs = SupplierProfile.objects.filter(is_active=True, establishment__is_active=True).exclude(
        establishment_id=need.buyer_id
    )
    if need.visibility == Need.Visibility.CHAMBER:
        if need.visibility_chamber_id is None:  # no chamber named: no audience, not the unassigned
            return qs.none()
        qs = qs.filter(establishment__commune__territory__chamber_id=need.visibility_chamber_id)
    elif need.visibility == Need.Visibility.NETWORK:
        # Members of the network and, for a federation, of its clubs (networks.policy.network_member_ids).
        qs = qs.filter(
            establishment__in=Establishment.objects.filter(
                Q(memberships__network_id=need.visibility_network_id)
                | Q(memberships__network__federation_id=need.visibility_network_id)
            ).values("pk")
        )
    return qs


def supplier_rows(profiles: QuerySet) -> list[dict]:
    """Plain rows for the engine, with each supplier's NAF label, certifications, size, past
    responses and shortlists."""
    rows = list(
        profiles.order_by("establishment_id").values(
            "establishment_id",
            "establishment__naf_id",
            "establishment__naf__label",
            "establishment__name",
            "establishment__headcount_band",
            "capabilities",
            "tags",
            "references",
            "certifications",
            "establishment__latitude",
            "establishment__longitude",
            "establishment__commune__latitude",
            "establishment__commune__longitude",
            "service_radius_km",
        )
    )
    ids = [r["establishment_id"] for r in rows]
    history = {
        row["supplier_id"]: row
        for row in Response.objects.filter(supplier_id__in=ids)
        .values("supplier_id")
        .annotate(n=Count("pk"), s=Count("pk", filter=Q(shortlisted_at__isnull=False)))
        .order_by("supplier_id")
    }
    return [
        {
            "id": r["establishment_id"],
            "naf": r["establishment__naf_id"],
            "naf_label": r["establishment__naf__label"],
            "text": f"{r['establishment__name']} {r['capabilities']} {r['tags']} {r['references']}",
            "certifications": r["certifications"],
            "headcount_band": r["establishment__headcount_band"],
            "latitude": r["establishment__latitude"]
            if r["establishment__latitude"] is not None
            else r["establishment__commune__latitude"],
            "longitude": r["establishment__longitude"]
            if r["establishment__longitude"] is not None
            else r["establishment__commune__longitude"],
            "radius_km": r["service_radius_km"],
            "responses": history.get(r["establishment_id"], {}).get("n", 0),
            "shortlists": history.get(r["establishment_id"], {}).get("s", 0),
        }
        for r in rows
    ]


def need_query(need: Need) -> marketplace.NeedQuery:
    lat, lon = need_place(need)
    return marketplace.NeedQuery(
        text=need_text(need),
        naf_codes=need_naf_codes(need),
        latitude=lat,
        longitude=lon,
        budget=need.budget,
        title=need.title,
    )


def rank_candidates(need: Need, limit: int = 30) -> list[marketplace.Candidate]:
    suppliers = marketplace.Suppliers.from_rows(supplier_rows(candidate_profiles(need)))
    return marketplace.rank_suppliers(need_query(need), suppliers, limit=limit)


def matches_for_buyer(need: Need) -> list[Match]:
    """The need's match list, each row told whether the supplier can be reached at all (a user
    account or a contact's e-mail): ``m.reachable``."""
    matches = list(need.matches.select_related("supplier__commune").order_by("rank", "pk"))
    ids = [m.supplier_id for m in matches]
    users = users_of(ids)
    emails = contact_emails_of(ids)
    text = need_text(need) if matches else ""
    for m in matches:
        # Attributes for the template, set on the rows (declared on Match, not columns).
        m.reachable = bool(users.get(m.supplier_id) or emails.get(m.supplier_id))
        # Rows stored before the engine gave them keep readable, accented reasons too.
        words = m.explanation.get("words") or []
        m.reason_words = m.explanation.get("words_as_written") or marketplace.as_written(
            text, words
        )
    return matches


def responses_for(user, need: Need) -> QuerySet:
    return (
        policy.visible_responses(user)
        .filter(need=need)
        .select_related("supplier__commune", "supplier__naf")
        .select_related("lot")
        .prefetch_related("attachments", "consortium__members", "versions__author")
        .order_by("-shortlisted_at", "lot__number", "created_at", "pk")
    )


# -- sourcing directory ------------------------------------------------------------------------
def search_suppliers(
    user,
    q: str = "",
    category: str = "",
    commune=None,
    max_km: float | None = None,
    size: str = "",
    network_id: int | None = None,
):
    """Supplier profiles the user may see, filtered by words (French full-text search on
    PostgreSQL, folded singular words on SQLite), category, distance from a commune, size band and
    network. Returns a list of (profile, distance_km or None), best first."""
    qs = policy.visible_supplier_profiles(user).select_related(
        "establishment__commune", "establishment__naf"
    )
    if category:
        qs = qs.filter(categories__regex=rf"(^|\s){category}(\s|$)")
    if size in SIZE_BANDS:
        qs = qs.filter(establishment__headcount_band__in=SIZE_BANDS[size])
    if network_id:
        qs = qs.filter(establishment__memberships__network_id=network_id)
    ranked = False
    if q.strip():
        if connection.vendor == "postgresql":
            # The stored, GIN-indexed vector (migration 0004: French, unaccented, weighted).
            query = SearchQuery(q, config=SEARCH_CONFIG, search_type="websearch")
            qs = qs.filter(search_vector=query).annotate(rank=SearchRank(F("search_vector"), query))
            qs = qs.order_by("-rank", "establishment__name", "pk")
            ranked = True
        else:
            for word in taxonomy.tokens(q)[:8]:
                qs = qs.filter(search_text__contains=f" {word}")
    if not ranked:
        qs = qs.order_by("establishment__name", "pk")
    if commune is None or commune.latitude is None:
        return SupplierResults(qs)
    # Distances for every matching profile at once (plain columns, vectorised), then only the
    # page shown is loaded as objects.
    rows = list(
        qs.values_list(
            "pk",
            "establishment__latitude",
            "establishment__longitude",
            "establishment__commune__latitude",
            "establishment__commune__longitude",
            "establishment__name",
        )
    )
    if not rows:
        return SupplierResults(qs.none())
    lat = np.array([r[1] if r[1] is not None else _nan(r[3]) for r in rows], dtype=float)
    lon = np.array([r[2] if r[2] is not None else _nan(r[4]) for r in rows], dtype=float)
    dist = haversine_km(commune.latitude, commune.longitude, lat, lon)
    found = [
        (r[0], round(float(d), 1), r[5], i)
        for i, (r, d) in enumerate(zip(rows, dist, strict=True))
        if max_km is None or d <= max_km
    ]
    if not ranked:
        # Nearest first (unknown places last), then by name.
        found.sort(key=lambda f: (np.isnan(f[1]), f[1], f[2], f[0]))
    return SupplierResults(
        qs.model.objects.select_related("establishment__commune", "establishment__naf"),
        ids=[f[0] for f in found],
        distances={f[0]: (None if np.isnan(f[1]) else f[1]) for f in found},
    )


def _nan(value) -> float:
    return float(value) if value is not None else float("nan")


class SupplierResults:
    """The directory's results, best first, as (profile, distance_km or None) pairs: counted
    and sliced lazily (a Paginator reads one page; no cap on how many match)."""

    def __init__(self, queryset, ids=None, distances=None):
        self.queryset = queryset
        self.ids = ids
        self.distances = distances or {}

    def count(self) -> int:
        return len(self.ids) if self.ids is not None else self.queryset.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, item):
        if not isinstance(item, slice):
            return self[item : item + 1][0]
        if self.ids is None:
            return [(p, None) for p in self.queryset[item]]
        wanted = self.ids[item]
        by_pk = self.queryset.in_bulk(wanted)
        return [(by_pk[pk], self.distances.get(pk)) for pk in wanted if pk in by_pk]

    def __iter__(self):
        n, step = self.count(), 500
        for start in range(0, n, step):
            yield from self[start : start + step]


# -- consortia ---------------------------------------------------------------------------------
# Bumped when the way groups are computed changes, so that stored suggestions are recomputed.
CONSORTIA_VERSION = "1"


def consortium_fingerprint(need: Need) -> str:
    """A hash of everything the suggested groups depend on: the lots (title, category), the
    candidate supplier profiles (who they are, when they or their establishment last changed)
    and the buyer (excluded from the candidates)."""
    digest = hashlib.sha256(f"v{CONSORTIA_VERSION}|buyer {need.buyer_id}".encode())
    for number, title, category in need.lots.order_by("number").values_list(
        "number", "title", "category"
    ):
        digest.update(f"|lot {number} {category} {title}".encode())
    rows = (
        candidate_profiles(need)
        .order_by("establishment_id")
        .values_list("establishment_id", "updated_at", "establishment__updated_at")
    )
    for establishment_id, profile_at, establishment_at in rows:
        digest.update(f"|{establishment_id} {profile_at} {establishment_at}".encode())
    return digest.hexdigest()


def compute_consortia(need: Need, n_groups: int = 5) -> tuple[list[dict], int]:
    """Groups of SMEs that together cover every lot of the need, best first, as plain data to
    store (``ConsortiumSuggestions.groups``); with the number of candidates examined."""
    lots = list(need.lots.order_by("number"))
    if len(lots) < 2:
        return [], 0
    rows = supplier_rows(candidate_profiles(need))
    if not rows:
        return [], 0
    suppliers = marketplace.Suppliers.from_rows(rows)
    scores = np.zeros((len(rows), len(lots)))
    for j, lot in enumerate(lots):
        text, _words = marketplace.text_scores(lot.title, suppliers.texts)
        activity = marketplace.activity_scores(CATEGORY_NAF.get(lot.category, ()), suppliers.naf)
        scores[:, j] = np.clip(0.6 * text + 0.6 * activity, 0.0, 1.0)
    bands = dict(
        Establishment.objects.filter(pk__in=suppliers.ids.tolist()).values_list(
            "pk", "headcount_band"
        )
    )
    headcount = np.array([typical_headcount(bands[int(i)]) for i in suppliers.ids])
    groups = consortia.suggest_groups(
        suppliers.ids,
        scores,
        np.nan_to_num(suppliers.latitude),
        np.nan_to_num(suppliers.longitude),
        headcount,
        n_groups=n_groups,
    )
    return [
        {
            "members": [int(m) for m in g.members],
            "lots": [[lots[i].number, int(m)] for i, m in sorted(g.lots.items())],
            "mean_lot_score": g.mean_lot_score,
            "max_distance_km": g.max_distance_km,
            "total_headcount": g.total_headcount,
        }
        for g in groups
    ], len(rows)


def consortium_groups_for_display(suggestions, lots) -> list[dict]:
    """The stored groups with names and lot titles (one query), for the buyer's page."""
    if suggestions is None or not suggestions.groups:
        return []
    ids = {m for g in suggestions.groups for m in g["members"]}
    names = dict(Establishment.objects.filter(pk__in=ids).values_list("pk", "name"))
    titles = {lot.number: lot.title for lot in lots}
    return [
        {
            "members": [names.get(m, "—") for m in g["members"]],
            "lots": [
                (titles.get(number, str(number)), names.get(m, "—")) for number, m in g["lots"]
            ],
            "mean_lot_score": g["mean_lot_score"],
            "max_distance_km": g["max_distance_km"],
            "total_headcount": g["total_headcount"],
        }
        for g in suggestions.groups
    ]
