"""The sourcing directory's stored search index on PostgreSQL: French stemming without accents,
a GIN index the planner can use, and a vector kept up to date on every write of a profile (bulk
creations included) and when an establishment is renamed. (SQLite keeps its folded words.)"""

from __future__ import annotations

import pytest
from django.db import connection

from maillage.marketplace import selectors, services
from maillage.marketplace.models import SupplierProfile

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="PostgreSQL full-text search only"
    ),
]


def found(user, q) -> list[str]:
    return [p.establishment.name for p, _d in selectors.search_suppliers(user, q=q)]


def test_french_words_without_accents_and_plurals(market):
    user = market["users"]["baker"]
    assert found(user, "electricite") == ["Électricité Melunaise"]
    assert found(user, "ÉLECTRIQUE") == ["Électricité Melunaise"]
    assert found(user, "armoire") == ["Électricité Melunaise"]  # "armoires"
    assert set(found(user, "fraisages")) == {
        "Usinage Briard",
        "Mécanique de Moissy",
        "Tournage Versaillais",
    }
    # The name weighs more than the capabilities: the shop named after turning comes first.
    assert found(user, "tournage")[0] == "Tournage Versaillais"
    assert found(user, "patisserie -pain") == []  # websearch syntax: the baker has both words
    assert found(user, "xylophone") == []


def test_vector_follows_profile_writes_and_renames(market, make_establishment):
    user = market["users"]["baker"]
    p = SupplierProfile.objects.get(establishment=market["elec"])
    p.capabilities = "Automatismes, variateurs et supervision."
    services.save_supplier_profile(market["users"]["elec"], p)
    assert found(user, "variateur") == ["Électricité Melunaise"]
    assert found(user, "cablage") == []
    # Bulk creation (as the demo loader does) is indexed too.
    shop = make_establishment("77288", name="Chaudronnerie Nouvelle", naf="25.11Z")
    SupplierProfile.objects.bulk_create(
        [SupplierProfile(establishment=shop, capabilities="Soudure inox et tôlerie.")]
    )
    assert found(user, "soudures") == ["Chaudronnerie Nouvelle"]
    # Renaming the establishment re-indexes its profile.
    shop.name = "Métallerie Renommée"
    shop.save()
    assert found(user, "metallerie") == ["Métallerie Renommée"]
    assert found(user, "chaudronnerie") == []


def test_gin_index_is_used(market):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'marketplace_profile_search_gin'"
        )
        assert "USING gin (search_vector)" in cursor.fetchone()[0]
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM marketplace_supplierprofile "
            "WHERE search_vector @@ websearch_to_tsquery('maillage_french', 'tournage')"
        )
        plan = " ".join(row[0] for row in cursor.fetchall())
    assert "marketplace_profile_search_gin" in plan
