"""Demo marketplace on top of the demo territory (``load_demo``): supplier profiles (capabilities,
certification, service radius, client sectors as references) for about half of the establishments
whose trade sells to other firms, a few needs of the demo buyer (published, one
with lots for a consortium, one draft) and a response. Deterministic (``random.Random(seed)``) and
idempotent (profiles keyed on their establishment, needs on buyer and title)."""

from __future__ import annotations

import datetime
import random
from typing import Any

from django.db import transaction
from django.utils import timezone

from maillage.accounts.models import User
from maillage.directory.models import Establishment
from maillage.marketplace import services
from maillage.marketplace.models import CATEGORY_NAF, Need, Response, SupplierProfile

# What firms of each trade say they do (NAF prefix → phrases; the longest prefix wins). Several
# phrases per trade so that two firms of one trade do not describe themselves identically.
CAPABILITIES: dict[str, list[str]] = {
    "10": ["fabrication alimentaire", "plateaux-repas et buffets", "pâtisserie et viennoiserie"],
    "16": ["menuiserie bois sur mesure", "palettes et caisses en bois", "sciage et rabotage"],
    "17": ["cartonnages et emballages carton", "caisses américaines", "papiers techniques"],
    "18": ["impression offset et numérique", "flyers, brochures et catalogues", "étiquettes"],
    "20": ["produits chimiques", "formulation de détergents", "peintures et vernis"],
    "22": ["injection plastique", "emballages plastiques", "pièces thermoformées"],
    "23": ["béton prêt à l'emploi", "éléments préfabriqués en béton", "verre et vitrages"],
    "25": [
        "usinage de pièces mécaniques",
        "tournage et fraisage CN",
        "chaudronnerie et soudure",
        "découpe laser de tôles",
        "traitement de surface et peinture époxy",
    ],
    "26": ["cartes électroniques", "capteurs et instruments de mesure", "assemblage électronique"],
    "27": ["armoires électriques", "matériel électrique", "câbles et connectique"],
    "28": ["machines spéciales", "convoyeurs et manutention", "maintenance de machines"],
    "31": ["mobilier de bureau", "agencement de magasins", "meubles sur mesure"],
    "33": ["maintenance industrielle", "réparation de machines", "installation d'équipements"],
    "35": ["production de chaleur", "fourniture d'énergie", "réseau de chaleur"],
    "38": [
        "collecte de déchets",
        "recyclage des métaux",
        "tri et valorisation des déchets",
        "enlèvement de déchets dangereux",
    ],
    "41": ["construction de bâtiments", "gros œuvre", "maçonnerie générale"],
    "42": ["voirie et réseaux divers", "terrassement", "travaux publics"],
    "43.2": [
        "électricité générale",
        "câblage et courants faibles",
        "climatisation et chauffage",
        "plomberie sanitaire",
    ],
    "43.3": [
        "peinture intérieure et extérieure",
        "menuiserie et pose de cloisons",
        "carrelage et revêtements de sol",
        "plâtrerie",
    ],
    "43": ["couverture et étanchéité", "démolition", "travaux de second œuvre"],
    "46": ["négoce de fournitures industrielles", "distribution de matériel", "vente en gros"],
    "49.4": [
        "transport routier de marchandises",
        "livraison et messagerie",
        "transport frigorifique",
    ],
    "49": ["transport de voyageurs", "navettes d'entreprise"],
    "52": ["entreposage et logistique", "préparation de commandes", "stockage en entrepôt"],
    "56": ["restauration d'entreprise", "traiteur pour séminaires", "plateaux-repas"],
    "62": [
        "développement de logiciels",
        "infogérance et maintenance informatique",
        "création de sites web",
        "cybersécurité",
    ],
    "63": ["hébergement de données", "centre de données", "traitement de données"],
    "69": ["expertise comptable", "conseil juridique", "paie et social"],
    "70": ["conseil en stratégie", "conseil en organisation", "accompagnement des dirigeants"],
    "71": [
        "bureau d'études techniques",
        "ingénierie du bâtiment",
        "contrôle et essais",
        "études thermiques",
    ],
    "72": ["recherche et développement", "prototypage", "laboratoire d'essais"],
    "73": ["communication et publicité", "études de marché", "graphisme"],
    "74": ["design industriel", "traduction", "photographie professionnelle"],
    "77": ["location de matériel", "location de véhicules utilitaires", "location d'engins"],
    "78": ["travail temporaire", "recrutement", "mise à disposition de personnel"],
    "80": ["gardiennage et sécurité", "surveillance de sites", "télésurveillance"],
    "81": ["nettoyage de bureaux", "nettoyage industriel", "entretien des espaces verts"],
    "82": ["secrétariat et accueil", "centre d'appels", "routage et mise sous pli"],
    "85": [
        "formation professionnelle",
        "formation sécurité et habilitations",
        "apprentissage et alternance",
        "formation en langues",
    ],
}
CERTIFICATIONS = ["", "", "ISO 9001", "ISO 14001", "MASE", "Qualibat", "RGE", "ISO 45001"]
# Client sectors a supplier cites as references: what tells apart two firms of one trade that state
# the same capability. Chosen to share no word with the capability phrases above.
CLIENT_SECTORS = [
    "agroalimentaire",
    "pharmaceutique",
    "aéronautique",
    "automobile",
    "cosmétique",
    "hôpitaux et cliniques",
    "collectivités",
    "hôtellerie",
    "ferroviaire",
    "défense",
]


def references_text(seed: int, siret: str) -> str:
    """Client sectors of one demo supplier (none for one in five), drawn from its own seeded
    generator so that adding them leaves the other profile fields as they were."""
    rng = random.Random(f"{seed}:{siret}:references")
    if rng.random() < 0.2:
        return ""
    sectors = rng.sample(CLIENT_SECTORS, k=rng.choice([1, 2]))
    return "Références : " + ", ".join(sectors) + "."


def capability_phrases(naf: str) -> list[str]:
    for length in (4, 2):
        if naf[:length] in CAPABILITIES:
            return CAPABILITIES[naf[:length]]
    return []


def categories_of(naf: str) -> str:
    return " ".join(
        code for code, prefixes in CATEGORY_NAF.items() if any(naf.startswith(p) for p in prefixes)
    )


DEMO_NEEDS: list[dict[str, Any]] = [
    {
        "title": "Maintenance informatique de nos trois sites",
        "theme": Need.Theme.PURCHASING,
        "kind": Need.Kind.SERVICE,
        "category": "it",
        "description": "Infogérance du parc (120 postes), maintenance informatique et "
        "cybersécurité, contrat de trois ans.",
        "budget": Need.Budget.LT_100K,
    },
    {
        "title": "Impression de catalogues produits",
        "theme": Need.Theme.PURCHASING,
        "kind": Need.Kind.PRODUCT,
        "category": "printing",
        "description": "5 000 catalogues de 48 pages, impression offset, livraison sur site.",
        "budget": Need.Budget.LT_25K,
        "hide_buyer": True,
    },
    {
        "title": "Réaménagement de l'atelier (co-traitance possible)",
        "theme": Need.Theme.PURCHASING,
        "kind": Need.Kind.WORKS,
        "category": "construction",
        "description": "Réaménagement de 800 m² d'atelier : électricité, peinture, "
        "cloisons et convoyeurs. Les PME peuvent répondre en groupement.",
        "budget": Need.Budget.GT_100K,
        "lots": [
            ("Électricité générale et câblage", "electricity"),
            ("Peinture et cloisons", "construction"),
            ("Convoyeurs et manutention", "mechanics"),
            ("Nettoyage de fin de chantier", "cleaning"),
        ],
    },
    {
        "title": "Capteurs connectés pour suivre nos consommations",
        "theme": Need.Theme.INNOVATION,
        "kind": Need.Kind.PROBLEM,
        "category": "",
        "description": "Nous voulons mesurer en continu les consommations d'énergie et d'eau "
        "de nos machines.",
        "expertise": "capteurs, instruments de mesure, traitement de données",
    },
    {
        "title": "Formation habilitations électriques de 12 techniciens",
        "theme": Need.Theme.HR,
        "kind": Need.Kind.TRAINING,
        "category": "",
        "description": "Formation sécurité et habilitations électriques B1V/BR pour 12 "
        "techniciens, en intra.",
        "positions": 12,
        "skills": "habilitations électriques",
    },
]


@transaction.atomic
def load_demo_marketplace(seed: int = 1, share: float = 0.5) -> dict[str, int]:
    """Supplier profiles and demo needs; returns counts of what was created."""
    rng = random.Random(seed + 7)
    created = {"profils": 0, "besoins": 0, "réponses": 0}
    existing = set(SupplierProfile.objects.values_list("establishment_id", flat=True))
    new = []
    for e in (
        Establishment.objects.filter(is_active=True)
        .only("pk", "siret", "naf_id", "name")
        .order_by("siret")
        .iterator()
    ):
        phrases = capability_phrases(e.naf_id)
        draw = rng.random()
        picks = (
            rng.sample(phrases, k=min(len(phrases), rng.choice([1, 2, 2, 3]))) if phrases else []
        )
        radius = rng.choice([15, 25, 40, 60, 100])
        certification = rng.choice(CERTIFICATIONS)
        if not phrases or draw > share or e.pk in existing:
            continue
        profile = SupplierProfile(
            establishment=e,
            capabilities=(", ".join(picks) + ".").capitalize(),
            tags=", ".join(picks[:2]),
            categories=categories_of(e.naf_id),
            certifications=certification,
            service_radius_km=radius,
            references=references_text(seed, e.siret),
        )
        profile.search_text = services.profile_search_text(profile)
        new.append(profile)
    SupplierProfile.objects.bulk_create(new, batch_size=1000)
    created["profils"] = len(new)

    buyer_user = User.objects.filter(username="acheteur").first()
    if buyer_user is None:
        return created
    buyer = buyer_user.establishments.order_by("pk").first()
    today = timezone.localdate()
    for i, spec in enumerate(DEMO_NEEDS):
        spec = dict(spec)
        lots = spec.pop("lots", [])
        if Need.objects.filter(buyer=buyer, title=spec["title"]).exists():
            continue
        need = services.save_need(
            buyer_user,
            Need(buyer=buyer, closes_on=today + datetime.timedelta(days=20 + 5 * i), **spec),
            lots,
        )
        created["besoins"] += 1
        if i < len(DEMO_NEEDS) - 1:  # the last one stays a draft
            services.publish(buyer_user, need)
    # One demo company answers the first need if it is among the matched suppliers' trades.
    supplier_user = User.objects.filter(username="entreprise1").first()
    first = Need.objects.filter(buyer=buyer, title=DEMO_NEEDS[0]["title"]).first()
    if supplier_user and first and first.status == Need.Status.PUBLISHED:
        supplier = supplier_user.establishments.order_by("pk").first()
        if not Response.objects.filter(need=first, supplier=supplier).exists():
            services.respond(
                supplier_user,
                first,
                supplier,
                message="Nous pouvons vous proposer une rencontre la semaine prochaine.",
            )
            created["réponses"] += 1
    return created
