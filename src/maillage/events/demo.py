"""Demo data of the events app and of export support: export advisors (CCE), clusters with
international programmes and a contact user each, an SME's export project and a contact request,
a business-meeting event with registered demo companies, a club breakfast and a club news post.
Deterministic and idempotent (natural keys)."""

from __future__ import annotations

import datetime

from django.utils import timezone

from maillage.accounts.models import User
from maillage.directory.models import (
    Cluster,
    ClusterProgramme,
    ExportAdvisor,
    ExportContactRequest,
    ExportProject,
)
from maillage.events.models import Event, Question, Registration

ADVISORS = [
    ("cce.maroc", "Karim", "Benali", "Atlas Agro Conseil", ["MA"], ["agrifood"], ["fr", "ar"]),
    (
        "cce.vietnam",
        "Linh",
        "Nguyen",
        "Mekong Trade",
        ["VN", "KH"],
        ["agrifood", "industry"],
        ["fr", "vi", "en"],
    ),
    (
        "cce.maghreb",
        "Sofia",
        "Haddad",
        "Sud Énergies",
        ["MA", "TN", "DZ"],
        ["energy", "environment"],
        ["fr", "ar"],
    ),
    ("cce.asie", "Paul", "Martin", "Asia Digital", ["VN", "TH", "SG"], ["digital"], ["fr", "en"]),
    ("cce.allemagne", "Anne", "Weber", "Rhein Industrie", ["DE", "AT"], ["industry"], ["fr", "de"]),
    (
        "cce.amerique",
        "Claire",
        "Dubois",
        "Atlantic Luxe",
        ["US", "CA"],
        ["luxury", "agrifood"],
        ["fr", "en"],
    ),
]

# One contact user per cluster (role "cluster_manager"), in the order of CLUSTERS.
CLUSTER_CONTACTS = [
    ("pole.eau", "Inès", "Moreau"),
    ("pole.agro", "Julien", "Lefèvre"),
    ("pole.mer", "Marion", "Roux"),
]

CLUSTERS = [
    (
        "Pôle Eau et Environnement (démo)",
        "eau, déchets, sols, économie circulaire",
        ["environment"],
        [("Programme Maghreb de l'eau", ["MA", "TN"])],
    ),
    (
        "Pôle Agroalimentaire d'Île-de-France (démo)",
        "transformation alimentaire, emballages, chaîne du froid",
        ["agrifood"],
        [("Mission ASEAN agroalimentaire", ["VN", "TH"]), ("Salon SIAL Maroc", ["MA"])],
    ),
    (
        "Pôle Mer Méditerranée (démo)",
        "ports, énergies marines, sécurité maritime",
        ["maritime", "energy"],
        [("Méditerranée bleue", ["MA", "EG", "TN"])],
    ),
]

CLUB_MEMBERS = ("entreprise1", "entreprise2", "entreprise3")

PROFILES = {
    "entreprise1": ("Palettes et emballages bois reconditionnés", "Sciure, chutes de bois"),
    "entreprise2": ("Chaleur fatale, vapeur basse pression", "Biomasse, plaquettes de bois"),
    "entreprise3": ("Sciure et chutes de bois", "Emballages carton, palettes"),
    "acheteur": ("Achats groupés de fournitures", "Fournisseurs locaux d'emballages"),
}


def _next_thursday(hour: int) -> datetime.datetime:
    """A date that stays in the future: the Thursday after next, at ``hour`` (local time)."""
    today = timezone.localdate()
    days = (3 - today.weekday()) % 7 + 7
    day = today + datetime.timedelta(days=days)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def load(builder, chambers, club) -> None:
    """Called by ``ingest.demo.load_demo`` after the networks and company users exist."""
    add = builder.summary.add
    advisors = {}
    for username, first, last, organisation, countries, sectors, langs in ADVISORS:
        user = builder._user(username, User.Role.EXPORT_ADVISOR, first, last, None)
        advisor, created = ExportAdvisor.objects.get_or_create(
            user=user,
            defaults={
                "name": f"{first} {last}",
                "organisation": organisation,
                "countries": countries,
                "sectors": sectors,
                "languages": langs,
                "bio": "Conseiller du commerce extérieur de la France (démonstration).",
            },
        )
        add("conseillers export", int(created))
        advisors[username] = advisor
    # The demo companies belong to the club, so that their users find its members' space, its
    # events and its news, and the animator has known members to start from.
    for username in CLUB_MEMBERS:
        user = User.objects.filter(username=username).first()
        establishment = user.establishments.order_by("pk").first() if user else None
        if establishment is not None:
            # Through the establishment's reverse manager: the networks' models are a peer's.
            _m, created = establishment.memberships.get_or_create(
                network=club,
                defaults={"since": datetime.date(2020, 9, 1)},
            )
            add("adhésions", int(created))
    members = list(
        club.memberships.order_by("establishment__siret").values_list("establishment_id", flat=True)
    )
    for i, (name, themes, sectors, programmes) in enumerate(CLUSTERS):
        cluster, created = Cluster.objects.get_or_create(
            name=name, defaults={"themes": themes, "sectors": sectors}
        )
        add("pôles", int(created))
        contact_username, first, last = CLUSTER_CONTACTS[i]
        cluster.managers.add(
            builder._user(contact_username, User.Role.CLUSTER_MANAGER, first, last, None)
        )
        if created:
            cluster.members.set(members[i * 10 : i * 10 + 10])
            for title, countries in programmes:
                ClusterProgramme.objects.create(cluster=cluster, title=title, countries=countries)

    sme_user = User.objects.filter(username="entreprise1").first()
    if sme_user is not None and sme_user.establishments.exists():
        project, _created = ExportProject.objects.get_or_create(
            establishment=sme_user.establishments.order_by("pk").first(),
            defaults={"countries": ["MA", "VN"], "sectors": ["agrifood"]},
        )
        # A pending request, so that cce.maroc finds something to answer.
        _req, created = ExportContactRequest.objects.get_or_create(
            establishment=project.establishment,
            advisor=advisors["cce.maroc"],
            defaults={
                "requested_by": sme_user,
                "countries": project.countries,
                "sectors": project.sectors,
                "message": "Nous préparons le salon SIAL Maroc : pouvez-vous nous conseiller ?",
            },
        )
        add("demandes de contact export", int(created))

    start = _next_thursday(9)
    event, created = Event.objects.get_or_create(
        title="Positive Business Place — rendez-vous d'affaires (démo)",
        defaults={
            "description": "Rencontres acheteurs-fournisseurs de 20 minutes, tous acheteurs, "
            "tous vendeurs.",
            "starts_at": start,
            "ends_at": start + datetime.timedelta(hours=4),
            "place": "CCI Versailles-Yvelines, 21 avenue de Paris, Versailles",
            "capacity": 60,
            "chamber": chambers["cci-versailles"],
            "meetings_enabled": True,
            "meetings_start": start + datetime.timedelta(minutes=30),
            "slot_minutes": 20,
            "slot_count": 8,
            "table_count": 10,
            "max_meetings": 6,
        },
    )
    add("événements", int(created))
    if created:
        Question.objects.create(event=event, label="Secteur d'activité", position=1)
    for username, (offers, seeks) in PROFILES.items():
        user = User.objects.filter(username=username).first()
        if user is None or not user.establishments.exists():
            continue
        _reg, created = Registration.objects.get_or_create(
            event=event,
            user=user,
            defaults={
                "establishment": user.establishments.order_by("pk").first(),
                "status": Registration.Status.CONFIRMED,
                "offers": offers,
                "seeks": seeks,
            },
        )
        add("inscriptions", int(created))
    breakfast = _next_thursday(8) + datetime.timedelta(days=7)
    _club_event, created = Event.objects.get_or_create(
        title="Petit-déjeuner du club des éco-entreprises (démo)",
        defaults={
            "starts_at": breakfast,
            "ends_at": breakfast + datetime.timedelta(hours=2),
            "place": "Cergy, pépinière d'entreprises",
            "capacity": 30,
            "network": club,
        },
    )
    add("événements", int(created))
    animator = club.animators.order_by("pk").first()
    _post, created = club.posts.get_or_create(
        title="Bienvenue dans l'espace membres du club",
        defaults={
            "author": animator,
            "body": "Retrouvez ici l'annuaire des membres, les actualités et les documents du "
            "club.",
        },
    )
    add("actualités", int(created))
