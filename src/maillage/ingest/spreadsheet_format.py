"""The import files' format: the columns of each kind of file and their French labels, the bounds
checked before or while parsing, the XLSX template users fill in, and reading an XLSX or CSV file
(``;`` or ``,``, UTF-8 or Windows-1252) into numbered rows.
"""

from __future__ import annotations

import csv
import datetime
import io
import zipfile

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from maillage.engine.headcount import HEADCOUNT_BANDS
from maillage.flows.forms import DESCRIPTION_MAX_LENGTH
from maillage.reference.models import ResourceClass
from maillage.reference.names import name_key as _key

# Bounds checked before or while parsing: a CCI's file holds hundreds to a few thousand rows.
MAX_ROWS = 5000
MAX_UNCOMPRESSED_BYTES = 30 * 1024 * 1024  # an XLSX of MAX_ROWS full rows is about 2 MB
MAX_CELL_CHARS = DESCRIPTION_MAX_LENGTH

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


def header_columns(kind: str, raw_header: list[str]) -> list[str]:
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
