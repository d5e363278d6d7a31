"""The sourcing directory's stored full-text index on PostgreSQL.

On every database: a ``search_vector`` column (NULL and unused on SQLite, whose search keeps its
folded words in ``search_text``). On PostgreSQL only:
- the ``unaccent`` extension when the server has it (a trusted extension: the database owner may
  create it), and a text search configuration ``maillage_french`` — French stemming, after
  unaccent when available — so that "electricite" finds "électricité" and plurals their singular;
- triggers that compute the vector on every insert or update of a profile (including bulk
  creations and the back-office) and when an establishment's name changes;
- a GIN index on the vector; existing profiles are indexed at once.
"""

from django.contrib.postgres.search import SearchVectorField
from django.db import DatabaseError, migrations, transaction

CONFIG = "maillage_french"

PROFILE_FUNCTION = """
CREATE OR REPLACE FUNCTION marketplace_profile_search_vector() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.search_vector :=
    setweight(to_tsvector('{config}', coalesce(
      (SELECT e.name FROM {establishment} e WHERE e.id = NEW.establishment_id), '')), 'A')
    || setweight(to_tsvector('{config}', coalesce(NEW.tags, '')), 'A')
    || setweight(to_tsvector('{config}', coalesce(NEW.capabilities, '')), 'B')
    || setweight(to_tsvector('{config}', coalesce(NEW.certifications, '')), 'C')
    || setweight(to_tsvector('{config}', coalesce(NEW."references", '')), 'D');
  RETURN NEW;
END $$;
"""

NAME_FUNCTION = """
CREATE OR REPLACE FUNCTION marketplace_establishment_renamed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- The profile's own trigger recomputes the vector.
  UPDATE {profile} SET search_vector = NULL WHERE establishment_id = NEW.id;
  RETURN NULL;
END $$;
"""


def _tables(apps):
    profile = apps.get_model("marketplace", "SupplierProfile")._meta.db_table
    establishment = apps.get_model("directory", "Establishment")._meta.db_table
    return profile, establishment


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    profile, establishment = _tables(apps)
    q = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'")
        unaccent = cursor.fetchone() is not None
        if unaccent:
            try:
                with transaction.atomic(using=schema_editor.connection.alias):
                    cursor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
            except DatabaseError:  # not allowed to create it: French stemming without unaccent
                unaccent = False
        cursor.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}")
        cursor.execute(f"CREATE TEXT SEARCH CONFIGURATION {CONFIG} (COPY = pg_catalog.french)")
        if unaccent:
            cursor.execute(
                f"ALTER TEXT SEARCH CONFIGURATION {CONFIG} "
                "ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem"
            )
        cursor.execute(PROFILE_FUNCTION.format(config=CONFIG, establishment=q(establishment)))
        cursor.execute(
            f"CREATE TRIGGER marketplace_profile_search_vector BEFORE INSERT OR UPDATE ON "
            f"{q(profile)} FOR EACH ROW EXECUTE FUNCTION marketplace_profile_search_vector()"
        )
        cursor.execute(NAME_FUNCTION.format(profile=q(profile)))
        cursor.execute(
            f"CREATE TRIGGER marketplace_establishment_renamed AFTER UPDATE OF name ON "
            f"{q(establishment)} FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name) "
            "EXECUTE FUNCTION marketplace_establishment_renamed()"
        )
        cursor.execute(
            f"CREATE INDEX marketplace_profile_search_gin ON {q(profile)} "
            "USING gin (search_vector)"
        )
        cursor.execute(f"UPDATE {q(profile)} SET search_vector = NULL")  # noqa: S608


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    profile, establishment = _tables(apps)
    q = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS marketplace_profile_search_gin")
        cursor.execute(
            f"DROP TRIGGER IF EXISTS marketplace_establishment_renamed ON {q(establishment)}"
        )
        cursor.execute("DROP FUNCTION IF EXISTS marketplace_establishment_renamed()")
        cursor.execute(f"DROP TRIGGER IF EXISTS marketplace_profile_search_vector ON {q(profile)}")
        cursor.execute("DROP FUNCTION IF EXISTS marketplace_profile_search_vector()")
        cursor.execute(f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {CONFIG}")
        # The unaccent extension stays: other schemas may use it.


class Migration(migrations.Migration):
    dependencies = [
        ("directory", "0002_export_advisors_clusters"),
        ("marketplace", "0003_consortium_suggestions"),
    ]

    operations = [
        migrations.AddField(
            model_name="supplierprofile",
            name="search_vector",
            field=SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(install, uninstall),
    ]
