"""backup_db / restore_db round trip on the database the suite runs on (SQLite, or PostgreSQL
when DATABASE_URL says so): create a row, back up, delete it, restore, the row is back."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from maillage.accounts.models import Chamber
from tests.factories import ChamberFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_round_trip(tmp_path):
    ChamberFactory(slug="cci-sauvegarde", name="CCI de la sauvegarde")
    target = tmp_path / f"maillage{'.dump' if connection.vendor == 'postgresql' else '.sqlite3'}"
    call_command("backup_db", output=str(target))
    assert target.stat().st_size > 0
    assert target.stat().st_mode & 0o077 == 0  # readable by its owner only
    assert not list(tmp_path.glob("*.partiel"))

    Chamber.objects.filter(slug="cci-sauvegarde").delete()
    ChamberFactory(slug="cci-apres", name="Créée après la sauvegarde")

    call_command("restore_db", str(target), yes=True)
    assert Chamber.objects.filter(slug="cci-sauvegarde", name="CCI de la sauvegarde").exists()
    assert not Chamber.objects.filter(slug="cci-apres").exists()


def test_default_location_is_under_var(tmp_path, settings):
    settings.VAR_DIR = tmp_path
    call_command("backup_db")
    (written,) = (tmp_path / "sauvegardes").iterdir()
    assert written.name.startswith("maillage-")


def test_restore_refuses_a_missing_or_foreign_file(tmp_path):
    with pytest.raises(CommandError, match="introuvable"):
        call_command("restore_db", str(tmp_path / "absent.dump"), yes=True)
    garbage = tmp_path / "pas-une-sauvegarde.dump"
    garbage.write_bytes(b"ceci n'est pas une sauvegarde" * 100)
    ChamberFactory(slug="cci-intacte", name="Intacte")
    with pytest.raises(CommandError):
        call_command("restore_db", str(garbage), yes=True)
    assert Chamber.objects.filter(slug="cci-intacte").exists()  # nothing was touched


def test_restore_asks_for_confirmation(tmp_path, monkeypatch):
    target = tmp_path / "b"
    call_command("backup_db", output=str(target))
    ChamberFactory(slug="cci-gardee", name="Gardée")
    monkeypatch.setattr("builtins.input", lambda prompt: "non")
    with pytest.raises(CommandError, match="annulée"):
        call_command("restore_db", str(target))
    assert Chamber.objects.filter(slug="cci-gardee").exists()
