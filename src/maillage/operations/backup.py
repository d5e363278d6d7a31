"""Database backup and restore: pg_dump / pg_restore (custom format) for PostgreSQL, the sqlite3
online backup API for SQLite. Both work on the connection Django uses (its settings_dict)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.db import connections


class BackupError(Exception):
    """A backup or restore that could not be done; the message is for the operator (French)."""


def vendor(alias: str = "default") -> str:
    return connections[alias].vendor


def default_suffix(alias: str = "default") -> str:
    return ".dump" if vendor(alias) == "postgresql" else ".sqlite3"


def backup(path: Path, alias: str = "default") -> None:
    """Writes a consistent copy of the database to ``path`` while the application runs."""
    kind = vendor(alias)
    if kind == "sqlite":
        _sqlite_copy(_sqlite_path(alias), path)
    elif kind == "postgresql":
        _run(_pg_tool("pg_dump"), ["--format=custom", "--file", str(path)], alias)
    else:
        raise BackupError(f"Sauvegarde non prise en charge pour la base « {kind} ».")


def restore(path: Path, alias: str = "default") -> None:
    """Replaces the database's content by the backup at ``path``. The application should be
    stopped first (on PostgreSQL the restore waits for the locks other sessions hold)."""
    if not path.is_file():
        raise BackupError(f"Fichier de sauvegarde introuvable : {path}")
    kind = vendor(alias)
    connections[alias].close()
    if kind == "sqlite":
        _sqlite_check(path)
        _sqlite_copy(path, _sqlite_path(alias))
    elif kind == "postgresql":
        _run(
            _pg_tool("pg_restore"),
            [
                "--clean",
                "--if-exists",
                "--no-owner",
                "--no-privileges",
                "--single-transaction",
                "--exit-on-error",
                str(path),
            ],
            alias,
        )
    else:
        raise BackupError(f"Restauration non prise en charge pour la base « {kind} ».")


def _sqlite_path(alias: str) -> Path:
    name = str(connections[alias].settings_dict["NAME"])
    if name == ":memory:" or name.startswith("file:"):
        raise BackupError("La base SQLite en mémoire ne peut pas être sauvegardée.")
    return Path(name)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Page-by-page copy with SQLite's backup API: consistent even while others write (each
    step holds a read lock; a write in between restarts the copy)."""
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            dst = sqlite3.connect(target)
            try:
                src.backup(dst, pages=1024)
            finally:
                dst.close()
        finally:
            src.close()
    except sqlite3.Error as exc:
        raise BackupError(f"Copie SQLite impossible ({source} → {target}) : {exc}") from exc


def _sqlite_check(path: Path) -> None:
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            (result,) = db.execute("PRAGMA quick_check").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} n'est pas une sauvegarde SQLite lisible : {exc}") from exc
    if result != "ok":
        raise BackupError(f"Sauvegarde SQLite endommagée ({path}) : {result}")


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(
            f"{name} introuvable : installez le client PostgreSQL (postgresql-client)."
        )
    return found


def _run(tool: str, args: list[str], alias: str) -> None:
    """Runs a PostgreSQL client tool on the connection's database; the password goes through
    the environment, never the command line (visible to every user in the process list)."""
    conf = connections[alias].settings_dict
    options = ["--no-password", "--dbname", str(conf["NAME"])]
    for key, flag in (("HOST", "--host"), ("PORT", "--port"), ("USER", "--username")):
        if conf.get(key):
            options += [flag, str(conf[key])]
    env = dict(os.environ)
    if conf.get("PASSWORD"):
        env["PGPASSWORD"] = str(conf["PASSWORD"])
    result = subprocess.run(  # noqa: S603 (fixed tool, arguments from settings)
        [tool, *options, *args], env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BackupError(f"{Path(tool).name} a échoué : {result.stderr.strip()}")
