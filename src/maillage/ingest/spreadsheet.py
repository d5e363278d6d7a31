"""Spreadsheet import of establishments, contacts and flows (XLSX, or CSV with ``;`` or ``,`` in
UTF-8 or Windows-1252, as French users export them).

Every import is first a dry run: each row is validated with the same services as the forms and
each error is reported with its line, its column and a reason in French. Nothing is written unless
the whole file is valid and the user confirms; the write is one transaction, recorded in the audit
log (one entry per establishment changed). Files are bounded before they are parsed (rows, size
once uncompressed, cell length) so that a hostile or mistaken file costs little.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from maillage.accounts import policy as accounts_policy
from maillage.accounts.models import AuditLog
from maillage.accounts.services import record_flow_views
from maillage.directory import policy as directory_policy
from maillage.directory.models import Contact, Establishment
from maillage.directory.services import clean_establishment, upsert_establishment
from maillage.engine.headcount import HEADCOUNT_BANDS
from maillage.flows import policy as flows_policy
from maillage.flows.forms import DESCRIPTION_MAX_LENGTH, unit_error
from maillage.flows.models import Visit
from maillage.flows.services import build_flow
from maillage.reference.fields import commune as commune_for_code
from maillage.reference.fields import naf_subclass
from maillage.reference.models import ResourceClass
from maillage.reference.names import name_key as _key
from maillage.reference.names import resource_class_names

# Bounds checked before or while parsing: a CCI's file holds hundreds to a few thousand rows.
MAX_ROWS = 5000
MAX_UNCOMPRESSED_BYTES = 30 * 1024 * 1024  # an XLSX of MAX_ROWS full rows is about 2 MB
MAX_CELL_CHARS = DESCRIPTION_MAX_LENGTH
ERRORS_SHOWN = 100

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
        "classe_ressource": ("resource_class", "Chaleur (chauffage et procédés)"),
        "code_dechet": ("waste_code", ""),
        "quantite": ("quantity", "120"),
        "unite": ("unit", "MWh"),
        "periode": ("period", "an"),
        "temperature_c": ("temperature_c", "85"),
        "description": ("description", "Eau chaude des séchoirs"),
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


# French headers as people type them («Raison sociale», «Quantité»…), accepted beside the codes.
COLUMN_LABELS = {
    "siret": "SIRET",
    "raison_sociale": "Raison sociale",
    "code_naf": "Code NAF",
    "tranche_effectif": "Tranche d'effectif",
    "adresse": "Adresse",
    "code_commune": "Code commune",
    "latitude": "Latitude",
    "longitude": "Longitude",
    "rubriques_icpe": "Rubriques ICPE",
    "prenom": "Prénom",
    "nom": "Nom",
    "fonction": "Fonction",
    "courriel": "Courriel",
    "telephone": "Téléphone",
    "date_visite": "Date de visite",
    "sens": "Sens",
    "classe_ressource": "Classe de ressource",
    "code_dechet": "Code déchet",
    "quantite": "Quantité",
    "unite": "Unité",
    "periode": "Période",
    "temperature_c": "Température (°C)",
    "description": "Description",
}
HEADER_ALIASES = {"e_mail": "courriel", "email": "courriel", "code_insee": "code_commune"}


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
    digest: str = ""
    establishment_ids: set[int] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def shown_errors(self) -> list[RowError]:
        """The first errors, in file order: enough to fix a file, small enough to render."""
        return self.errors[:ERRORS_SHOWN]

    @property
    def hidden_errors(self) -> int:
        return max(0, len(self.errors) - ERRORS_SHOWN)

    @property
    def error_counts(self) -> list[tuple[str, int]]:
        """How many errors each column has, most first (a column of ``—`` for whole-row ones)."""
        counts = Counter(e.column or "—" for e in self.errors)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


class FileError(ValueError):
    """The file as a whole cannot be read (format, header); the message is for the user."""


def allowed_values(kind: str) -> dict[str, list[str]]:
    """The values offered for each constrained column of the template, in French."""
    if kind == "etablissements":
        return {"tranche_effectif": list(HEADCOUNT_BANDS)}
    if kind == "flux":
        return {
            "sens": ["offre", "besoin"],
            "classe_ressource": list(
                ResourceClass.objects.order_by("category", "label").values_list("label", flat=True)
            ),
            "unite": ["t", "kg", "m3", "L", "MWh", "kWh", "unités", "h", "m2"],
            "periode": ["an", "mois", "semaine", "jour", "ponctuel"],
        }
    return {}


# Columns whose list is a suggestion (codes and aliases are accepted too) warn instead of refusing.
LENIENT_LISTS = {"classe_ressource", "unite"}


def template(kind: str) -> bytes:
    """An XLSX template: the expected columns and one example row; the allowed values on a
    second sheet « valeurs », offered as drop-down lists (data validation) on their columns."""
    wb = Workbook()
    ws = wb.active
    ws.title = kind
    columns = list(COLUMNS[kind])
    ws.append(columns)
    ws.append([example for _field, example in COLUMNS[kind].values()])
    values = allowed_values(kind)
    if values:
        sheet = wb.create_sheet("valeurs")
        for index, (column, options) in enumerate(values.items(), start=1):
            letter = get_column_letter(index)
            sheet.cell(row=1, column=index, value=COLUMN_LABELS[column])
            for row, option in enumerate(options, start=2):
                sheet.cell(row=row, column=index, value=option)
            lenient = column in LENIENT_LISTS
            validation = DataValidation(
                type="list",
                formula1=f"valeurs!${letter}$2:${letter}${len(options) + 1}",
                allow_blank=True,
                showErrorMessage=True,
                errorStyle="warning" if lenient else "stop",
                errorTitle=COLUMN_LABELS[column],
                error="Valeur hors de la liste de la feuille « valeurs »."
                + (" Un code est aussi accepté." if lenient else ""),
            )
            target = get_column_letter(columns.index(column) + 1)
            validation.add(f"{target}2:{target}{MAX_ROWS + 1}")
            ws.add_data_validation(validation)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def read_rows(name: str, content: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (line number, cells) of the non-empty rows of an XLSX or CSV file; FileError
    beyond ``MAX_ROWS`` rows, for an XLSX too big once uncompressed, or an unreadable file."""
    records = _xlsx_records(content) if name.lower().endswith(".xlsx") else _csv_records(content)
    try:
        header_cells = next(records)
    except StopIteration:
        raise FileError("Fichier vide.") from None
    header = [h.strip().lower() for h in header_cells]
    numbered: list[tuple[int, list[str]]] = []
    for line, row in enumerate(records, start=2):
        if not any(c.strip() for c in row):
            continue
        if len(numbered) == MAX_ROWS:
            raise FileError(
                f"Trop de lignes : {MAX_ROWS} au plus par fichier (ligne {line} et suivantes). "
                "Découpez le fichier en plusieurs."
            )
        numbered.append((line, row))
    return header, numbered


def _xlsx_records(content: bytes):
    # The sizes declared by the archive bound what zipfile will inflate: checking them first
    # refuses a small file that expands into gigabytes of XML before openpyxl parses it.
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            uncompressed = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise FileError(f"Classeur XLSX illisible : {exc}") from exc
    if uncompressed > MAX_UNCOMPRESSED_BYTES:
        raise FileError(
            f"Classeur trop volumineux une fois décompressé ({uncompressed // 1_000_000} Mo, "
            f"{MAX_UNCOMPRESSED_BYTES // 1_000_000} Mo au plus) : découpez-le ou enregistrez-le "
            "en CSV."
        )
    try:
        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise FileError(f"Classeur XLSX illisible : {exc}") from exc
    try:
        for row in wb.worksheets[0].iter_rows(values_only=True):
            yield ["" if v is None else _cell(v) for v in row]
    finally:
        wb.close()


def _csv_records(content: bytes):
    text = None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = content.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    if text is None:
        raise FileError(
            "Encodage illisible : le fichier n'est ni en UTF-8 ni en Windows-1252. Enregistrez-le "
            "en « CSV UTF-8 » ou déposez-le en XLSX."
        )
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise FileError(
                f"Ligne {reader.line_num} illisible : une cellule dépasse la longueur permise "
                f"({MAX_CELL_CHARS} caractères) ou un guillemet n'est pas refermé."
            ) from None
        yield row


def _cell(value) -> str:
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _columns(kind: str, raw_header: list[str]) -> list[str]:
    """The header as column codes: codes, French labels and a few aliases are accepted."""
    aliases = dict(HEADER_ALIASES)
    for column in COLUMNS[kind]:
        aliases[_key(column)] = column
        aliases[_key(COLUMN_LABELS[column])] = column
    header = [aliases.get(_key(h), h) if h else "" for h in raw_header]
    unknown = [h for h in header if h and h not in COLUMNS[kind]]
    if unknown:
        raise FileError("Colonnes inconnues : " + ", ".join(unknown) + ".")
    missing = sorted(REQUIRED[kind] - set(header))
    if missing:
        raise FileError(
            "Colonnes manquantes : " + ", ".join(missing) + ". Téléchargez le modèle de fichier."
        )
    return header


def run(user, kind: str, name: str, content: bytes, *, commit: bool, each_row=None) -> ImportResult:
    """Validate the whole file; write it (atomically) only if ``commit`` and it has no error.
    ``each_row(n)`` is called before the n-th row is read (inside the transaction)."""
    if kind not in COLUMNS:
        raise FileError(f"Type d'import inconnu « {kind} ».")
    raw_header, rows = read_rows(name, content)
    header = _columns(kind, raw_header)
    result = ImportResult(kind=kind, digest=hashlib.sha256(content).hexdigest())
    importer = {"etablissements": _establishments, "contacts": _contacts, "flux": _flows}[kind]
    try:
        with transaction.atomic():
            importer(user, _checked(header, rows, result, each_row), result)
            if result.errors or not commit:
                raise _Rollback
            result.written = True
            _audit(user, name, result)
    except _Rollback:
        pass  # counts stay: what the import would create / update
    return result


def _audit(user, name: str, result: ImportResult) -> None:
    """One audit entry per establishment the import changed: who, which file, what counts."""
    detail = (
        f"import {result.kind} « {name[:80]} » ({result.digest[:12]}) : {result.rows} lignes, "
        f"{result.created} créations, {result.updated} mises à jour"
    )
    # Flows imports change flows; establishment and contact imports change the establishment.
    action = (
        AuditLog.Action.CHANGE_FLOWS
        if result.kind == "flux"
        else AuditLog.Action.CHANGE_ESTABLISHMENT
    )
    record_flow_views(user, result.establishment_ids, detail=detail[:255], action=action)


class _Rollback(Exception):
    """Raised inside the transaction to undo a dry run or a file with errors."""


def _checked(header: list[str], rows, result: ImportResult, each_row=None):
    """(line, {column: value}) of the rows whose cells are all acceptable text; the others are
    reported (NUL and control characters, overlong cells) and skipped."""
    for line, cells in rows:
        result.rows += 1
        if each_row is not None:
            each_row(result.rows)
        values: dict[str, str] = {}
        bad = False
        for i, column in enumerate(header):
            if not column:
                continue
            value = cells[i].strip() if i < len(cells) else ""
            if any(c < " " and c not in "\t\n\r" for c in value):
                result.errors.append(
                    RowError(
                        line,
                        column,
                        "Caractère invisible interdit (caractère nul ou de contrôle) : "
                        "retapez la cellule.",
                    )
                )
                bad = True
            elif len(value) > MAX_CELL_CHARS:
                result.errors.append(
                    RowError(
                        line,
                        column,
                        f"Texte trop long : {len(value)} caractères, {MAX_CELL_CHARS} au plus.",
                    )
                )
                bad = True
            values[column] = value
        if not bad:
            yield line, values


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
    if not flows_policy.can_edit_flows(user, found):
        raise ValidationError({"siret": ["Cet établissement n'est pas rattaché à votre chambre."]})
    return found


def _establishments(user, rows, result: ImportResult) -> None:
    seen: dict[str, int] = {}
    references: dict[tuple[str, str], object] = {}
    for line, v in rows:
        values = {
            field_: v.get(col, "") for col, (field_, _ex) in COLUMNS["etablissements"].items()
        }
        values["headcount_band"] = values["headcount_band"] or "NN"
        _resolve_references(values, references)
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
            _may_import(user, cleaned)
            establishment, created = upsert_establishment(values)
            result.establishment_ids.add(establishment.pk)
            if created:
                result.created += 1
            else:
                result.updated += 1
        except ValidationError as exc:
            _report(result, line, "etablissements", exc)


def _resolve_references(values: dict, cache: dict[tuple[str, str], object]) -> None:
    """Replace the NAF and commune codes by their rows, looked up once per file (a file repeats
    a few communes and activities); a code that does not resolve stays text, so that
    clean_establishment reports it with its usual message."""
    for name, parse in (("naf", naf_subclass), ("commune", commune_for_code)):
        key = (name, values[name])
        if key not in cache:
            try:
                cache[key] = parse(values[name])
            except ValidationError:
                cache[key] = None
        if cache[key] is not None:
            values[name] = cache[key]


def _may_import(user, cleaned: dict) -> None:
    """Refuse, with the reason, a row that the user may not write (directory.policy decides)."""
    existing = (
        Establishment.objects.select_related("commune__territory")
        .filter(siret=cleaned["siret"])
        .first()
    )
    if directory_policy.can_import_establishment(user, existing, cleaned["commune"]):
        return
    if not accounts_policy.is_chamber_staff(user):
        raise ValidationError("Seuls les conseillers importent des établissements.")
    if existing is not None and not directory_policy.can_edit_establishment(user, existing):
        # Identity only: the other chamber's data (name, address) is not revealed.
        raise ValidationError(
            {
                "siret": [
                    "Ce SIRET désigne un établissement suivi par une autre chambre : seule "
                    "cette chambre peut le modifier. Retirez la ligne du fichier."
                ]
            }
        )
    raise ValidationError({"commune": ["Commune hors du territoire de votre chambre."]})


def _float(text: str, name: str) -> float | None:
    if not text:
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        raise ValidationError({name: [f"Nombre illisible « {text} »."]}) from None


def _contacts(user, rows, result: ImportResult) -> None:
    cache: dict = {}
    for line, v in rows:
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
            result.establishment_ids.add(establishment.pk)
            result.created += 1
        except ValidationError as exc:
            _report(result, line, "contacts", exc)


def _quantity(text: str) -> str:
    """The quantity as typed, checked: a finite number, not negative (reported in its column)."""
    try:
        value = Decimal(text.replace(",", ".").replace(" ", "").replace("\u202f", ""))
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise ValidationError({"quantity": [f"Quantité « {text} » illisible."]})
    if value < 0:
        raise ValidationError(
            {"quantity": [f"Quantité « {text} » négative : indiquez une quantité positive."]}
        )
    return text


def _resource_class(text: str, names: dict[str, str]) -> str | None:
    if not text:
        return None
    code = names.get(_key(text))
    if code is None:
        raise ValidationError(
            {
                "resource_class": [
                    f"Classe de ressource « {text} » inconnue : choisissez un libellé de la "
                    "feuille « valeurs » du modèle (par exemple « Chaleur »)."
                ]
            }
        )
    return code


def _flows(user, rows, result: ImportResult) -> None:
    cache: dict = {}
    visits: dict = {}
    names = resource_class_names()
    unit_errors: dict[tuple[str, str], str | None] = {}
    for line, v in rows:
        try:
            establishment = _establishment_for(user, v.get("siret", ""), cache)
            direction = DIRECTIONS.get(_key(v.get("sens", "")))
            if direction is None:
                raise ValidationError(
                    {"direction": [f"Sens « {v.get('sens', '')} » : offre ou besoin attendu."]}
                )
            period = PERIODS.get(_key(v.get("periode", "")))
            if period is None:
                raise ValidationError(
                    {
                        "period": [
                            f"Période « {v.get('periode', '')} » : an, mois, semaine, jour "
                            "ou ponctuel."
                        ]
                    }
                )
            quantity = _quantity(v.get("quantite", ""))
            resource_class = _resource_class(v.get("classe_ressource", ""), names)
            unit = v.get("unite", "")
            unit = {"m³": "m3", "m²": "m2"}.get(unit, unit)
            visit = None
            if v.get("date_visite") and accounts_policy.is_chamber_staff(user):
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
                resource_class=resource_class,
                waste_code=v.get("code_dechet") or None,
                quantity=quantity,
                unit=unit,
                period=period,
                visit=visit,
                temperature_c=_float(v.get("temperature_c", ""), "temperature_c"),
                description=v.get("description", ""),
            )
            # The same rule as the web form: the unit measures what the class is measured in.
            class_unit = (flow.resource_class_id, flow.unit)
            if class_unit not in unit_errors:
                unit_errors[class_unit] = unit_error(flow.resource_class, flow.unit)
            if unit_errors[class_unit]:
                raise ValidationError({"unit": [unit_errors[class_unit]]})
            flow.save()
            result.establishment_ids.add(establishment.pk)
            result.created += 1
        except ValidationError as exc:
            _report(result, line, "flux", exc)


def run_path(user, kind: str, path: Path, *, commit: bool) -> ImportResult:
    return run(user, kind, path.name, path.read_bytes(), commit=commit)
