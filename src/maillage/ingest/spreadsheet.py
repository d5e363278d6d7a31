"""Spreadsheet import of establishments, contacts and flows (XLSX, or CSV with ``;`` or ``,`` in
UTF-8 or Windows-1252, as French users export them).

Every import is first a dry run: each row is validated with the same services as the forms and
each error is reported with its line, its column and a reason in French. Nothing is written unless
the whole file is valid and the user confirms; the write is one transaction.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from openpyxl import Workbook, load_workbook

from maillage.accounts import policy
from maillage.directory.models import Contact, Establishment
from maillage.directory.services import clean_establishment, upsert_establishment
from maillage.engine.headcount import HEADCOUNT_BANDS
from maillage.flows.models import Visit
from maillage.flows.services import build_flow

# column → (model field it feeds, example), per kind of file
COLUMNS: dict[str, dict[str, tuple[str, str]]] = {
    "etablissements": {
        "siret": ("siret", "73282932000074"),
        "raison_sociale": ("name", "Scierie du Gâtinais"),
        "code_naf": ("naf", "16.10A"),
        "tranche_effectif": ("headcount_band", "12"),
        "adresse": ("address", "12 rue des Scieurs"),
        "code_commune": ("commune", "77288"),
        "latitude": ("latitude", "48.5394"),
        "longitude": ("longitude", "2.6596"),
        "rubriques_icpe": ("icpe_rubriques", ""),  # semicolon-separated, e.g. 2790;2770
    },
    "contacts": {
        "siret": ("siret", "73282932000074"),
        "prenom": ("first_name", "Camille"),
        "nom": ("last_name", "Durand"),
        "fonction": ("role", "Responsable QSE"),
        "courriel": ("email", "camille.durand@example.fr"),
        "telephone": ("phone", "01 23 45 67 89"),
    },
    "flux": {
        "siret": ("siret", "73282932000074"),
        "date_visite": ("date", "2025-03-14"),
        "sens": ("direction", "offre"),
        "classe_ressource": ("resource_class", "wood_waste"),
        "code_dechet": ("waste_code", "03 01 05"),
        "quantite": ("quantity", "120"),
        "unite": ("unit", "t"),
        "periode": ("period", "an"),
        "temperature_c": ("temperature_c", ""),
        "description": ("description", "Sciure et copeaux de hêtre"),
    },
}
REQUIRED = {
    "etablissements": {"siret", "raison_sociale", "code_naf", "code_commune"},
    "contacts": {"siret", "nom"},
    "flux": {"siret", "sens", "quantite", "unite"},
}
DIRECTIONS = {
    "offre": "offer",
    "offer": "offer",
    "sortant": "offer",
    "besoin": "need",
    "need": "need",
    "entrant": "need",
}
PERIODS = {
    "an": "year",
    "annee": "year",
    "année": "year",
    "year": "year",
    "mois": "month",
    "month": "month",
    "semaine": "week",
    "week": "week",
    "jour": "day",
    "day": "day",
    "ponctuel": "once",
    "once": "once",
    "": "year",
}


@dataclass
class RowError:
    line: int
    column: str
    message: str


@dataclass
class ImportResult:
    kind: str
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    written: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors


class FileError(ValueError):
    """The file as a whole cannot be read (format, header); the message is for the user."""


def template(kind: str) -> bytes:
    """An XLSX template with the expected columns and one example row."""
    wb = Workbook()
    ws = wb.active
    ws.title = kind
    ws.append(list(COLUMNS[kind]))
    ws.append([example for _field, example in COLUMNS[kind].values()])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def read_rows(name: str, content: bytes) -> tuple[list[str], Iterable[tuple[int, list[str]]]]:
    """Header and (line number, cells) of an XLSX or CSV file."""
    if name.lower().endswith(".xlsx"):
        try:
            wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a broken file
            raise FileError(f"Classeur XLSX illisible : {exc}") from exc
        ws = wb.worksheets[0]
        rows = [
            ["" if v is None else _cell(v) for v in row] for row in ws.iter_rows(values_only=True)
        ]
    else:
        for encoding in ("utf-8-sig", "cp1252"):
            try:
                text = content.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        first = text.split("\n", 1)[0]
        delimiter = ";" if first.count(";") >= first.count(",") else ","
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    if not rows:
        raise FileError("Fichier vide.")
    header = [h.strip().lower() for h in rows[0]]
    numbered = [(i, r) for i, r in enumerate(rows[1:], start=2) if any(c.strip() for c in r)]
    return header, numbered


def _cell(value) -> str:
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def run(user, kind: str, name: str, content: bytes, *, commit: bool) -> ImportResult:
    """Validate the whole file; write it (atomically) only if ``commit`` and it has no error."""
    if kind not in COLUMNS:
        raise FileError(f"Type d'import inconnu « {kind} ».")
    header, rows = read_rows(name, content)
    missing = sorted(REQUIRED[kind] - set(header))
    if missing:
        raise FileError(
            "Colonnes manquantes : " + ", ".join(missing) + ". Téléchargez le modèle de fichier."
        )
    unknown = [h for h in header if h and h not in COLUMNS[kind]]
    if unknown:
        raise FileError("Colonnes inconnues : " + ", ".join(unknown) + ".")
    result = ImportResult(kind=kind)
    importer = {"etablissements": _establishments, "contacts": _contacts, "flux": _flows}[kind]
    try:
        with transaction.atomic():
            importer(user, header, rows, result)
            if result.errors or not commit:
                raise _Rollback
            result.written = True
    except _Rollback:
        pass  # counts stay: what the import would create / update
    return result


class _Rollback(Exception):
    """Raised inside the transaction to undo a dry run or a file with errors."""


def _values(header: list[str], cells: list[str]) -> dict[str, str]:
    return {h: (cells[i].strip() if i < len(cells) else "") for i, h in enumerate(header) if h}


def _report(result: ImportResult, line: int, kind: str, exc: ValidationError) -> None:
    by_field = {f: col for col, (f, _ex) in COLUMNS[kind].items()}
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    for name, messages in errors.items():
        column = by_field.get(name, name if name != "__all__" else "")
        for message in messages:
            result.errors.append(RowError(line, column, message))


def _establishment_for(user, siret: str, cache: dict) -> Establishment:
    siret = siret.replace(" ", "")
    if siret not in cache:
        found = Establishment.objects.select_related("commune").filter(siret=siret).first()
        cache[siret] = found
    found = cache[siret]
    if found is None:
        raise ValidationError(
            {
                "siret": [
                    f"Aucun établissement de SIRET « {siret} » : importez-le "
                    "d'abord (fichier établissements)."
                ]
            }
        )
    if not policy.can_edit_flows(user, found):
        raise ValidationError({"siret": ["Cet établissement n'est pas rattaché à votre chambre."]})
    return found


def _establishments(user, header, rows, result: ImportResult) -> None:
    seen: dict[str, int] = {}
    for line, cells in rows:
        result.rows += 1
        v = _values(header, cells)
        values = {
            field_: v.get(col, "") for col, (field_, _ex) in COLUMNS["etablissements"].items()
        }
        values["headcount_band"] = values["headcount_band"] or "NN"
        try:
            if values["headcount_band"] not in HEADCOUNT_BANDS:
                raise ValidationError(
                    {
                        "headcount_band": [
                            f"Tranche d'effectif « {values['headcount_band']} » "
                            "inconnue (codes INSEE : NN, 00, 01, 02, 03, 11, 12…)."
                        ]
                    }
                )
            for coordinate in ("latitude", "longitude"):
                values[coordinate] = _float(values[coordinate], coordinate)
            cleaned = clean_establishment(values)
            if cleaned["siret"] in seen:
                raise ValidationError(
                    {"siret": [f"SIRET déjà présent ligne {seen[cleaned['siret']]}."]}
                )
            seen[cleaned["siret"]] = line
            if not policy.is_chamber_staff(user) and not user.is_superuser:
                raise ValidationError("Seuls les conseillers importent des établissements.")
            territory = getattr(cleaned["commune"], "territory", None)
            if not user.is_superuser and (
                territory is None or territory.chamber_id != user.chamber_id
            ):
                raise ValidationError({"commune": ["Commune hors du territoire de votre chambre."]})
            _establishment, created = upsert_establishment(values)
            if created:
                result.created += 1
            else:
                result.updated += 1
        except ValidationError as exc:
            _report(result, line, "etablissements", exc)


def _float(text: str, name: str) -> float | None:
    if not text:
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise ValidationError({name: [f"Nombre illisible « {text} »."]}) from None


def _contacts(user, header, rows, result: ImportResult) -> None:
    cache: dict = {}
    for line, cells in rows:
        result.rows += 1
        v = _values(header, cells)
        try:
            establishment = _establishment_for(user, v.get("siret", ""), cache)
            contact = Contact(
                establishment=establishment,
                **{
                    f: v.get(col, "")
                    for col, (f, _ex) in COLUMNS["contacts"].items()
                    if f != "siret"
                },
            )
            contact.full_clean()
            contact.save()
            result.created += 1
        except ValidationError as exc:
            _report(result, line, "contacts", exc)


def _flows(user, header, rows, result: ImportResult) -> None:
    cache: dict = {}
    visits: dict = {}
    for line, cells in rows:
        result.rows += 1
        v = _values(header, cells)
        try:
            establishment = _establishment_for(user, v.get("siret", ""), cache)
            direction = DIRECTIONS.get(v.get("sens", "").lower())
            if direction is None:
                raise ValidationError(
                    {"direction": [f"Sens « {v.get('sens', '')} » : offre ou besoin attendu."]}
                )
            period = PERIODS.get(v.get("periode", "").lower())
            if period is None:
                raise ValidationError(
                    {
                        "period": [
                            f"Période « {v.get('periode', '')} » : an, mois, semaine, jour "
                            "ou ponctuel."
                        ]
                    }
                )
            try:
                Decimal(v.get("quantite", "").replace(",", ".").replace(" ", ""))
            except InvalidOperation:
                raise ValidationError(
                    {"quantity": [f"Quantité « {v.get('quantite', '')} » illisible."]}
                ) from None
            visit = None
            if v.get("date_visite") and policy.is_chamber_staff(user):
                try:
                    date = datetime.date.fromisoformat(v["date_visite"])
                except ValueError:
                    raise ValidationError(
                        {"date": [f"Date « {v['date_visite']} » : format AAAA-MM-JJ attendu."]}
                    ) from None
                key = (establishment.pk, date)
                if key not in visits:
                    visits[key] = Visit.objects.get_or_create(
                        establishment=establishment, date=date, defaults={"advisor": user}
                    )[0]
                visit = visits[key]
            flow = build_flow(
                establishment,
                direction=direction,
                resource_class=v.get("classe_ressource") or None,
                waste_code=v.get("code_dechet") or None,
                quantity=v.get("quantite", ""),
                unit=v.get("unite", ""),
                period=period,
                visit=visit,
                temperature_c=_float(v.get("temperature_c", ""), "temperature_c"),
                description=v.get("description", ""),
            )
            flow.save()
            result.created += 1
        except ValidationError as exc:
            _report(result, line, "flux", exc)


def run_path(user, kind: str, path: Path, *, commit: bool) -> ImportResult:
    return run(user, kind, path.name, path.read_bytes(), commit=commit)
