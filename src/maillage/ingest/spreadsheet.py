"""Spreadsheet import of establishments, contacts and flows (XLSX, or CSV with ``;`` or ``,`` in
UTF-8 or Windows-1252, as French users export them).

Every import is first a dry run: each row is validated with the same services as the forms and
each error is reported with its line, its column and a reason in French. Nothing is written unless
the whole file is valid and the user confirms; the write is one transaction, recorded in the audit
log (one entry per establishment changed). Files are bounded before they are parsed (rows, size
once uncompressed, cell length) so that a hostile or mistaken file costs little: the format, the
bounds and the reading of files are in ``spreadsheet_format``.
"""

from __future__ import annotations

import datetime
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from maillage.accounts import policy as accounts_policy
from maillage.accounts.models import AuditLog
from maillage.accounts.services import record_flow_views
from maillage.directory import policy as directory_policy
from maillage.directory.models import Contact, Establishment
from maillage.directory.services import clean_establishment, upsert_establishment
from maillage.engine.headcount import HEADCOUNT_BANDS
from maillage.flows import policy as flows_policy
from maillage.flows.forms import unit_error
from maillage.flows.models import Visit
from maillage.flows.services import build_flow
from maillage.ingest.spreadsheet_format import (
    COLUMNS,
    MAX_CELL_CHARS,
    FileError,
    header_columns,
    read_rows,
)
from maillage.reference.fields import commune as commune_for_code
from maillage.reference.fields import naf_subclass
from maillage.reference.names import name_key as _key
from maillage.reference.names import resource_class_names

ERRORS_SHOWN = 100  # errors listed on the page; the others are counted per column
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


def run(user, kind: str, name: str, content: bytes, *, commit: bool, each_row=None) -> ImportResult:
    """Validate the whole file; write it (atomically) only if ``commit`` and it has no error.
    ``each_row(n)`` is called before the n-th row is read (inside the transaction)."""
    if kind not in COLUMNS:
        raise FileError(f"Type d'import inconnu « {kind} ».")
    raw_header, rows = read_rows(name, content)
    header = header_columns(kind, raw_header)
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
