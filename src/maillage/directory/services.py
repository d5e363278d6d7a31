"""Writes of the directory app: establishments created or updated from plain values (forms,
spreadsheet and SIRENE imports), validated with the same rules and messages everywhere."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from maillage.directory.models import Establishment, validate_siret
from maillage.reference.fields import commune as commune_for_code
from maillage.reference.fields import naf_subclass

FIELDS = [
    "name",
    "naf",
    "headcount_band",
    "address",
    "commune",
    "latitude",
    "longitude",
    "is_active",
    "closed_on",
    "is_large_buyer",
]


def clean_establishment(values: dict) -> dict:
    """Validate typed values (SIRET, NAF code, INSEE commune code…); ValidationError per field."""
    errors: dict[str, list[str]] = {}
    cleaned = dict(values)
    siret = str(values.get("siret", "")).replace(" ", "")
    try:
        validate_siret(siret)
    except ValidationError as exc:
        errors["siret"] = exc.messages
    cleaned["siret"] = siret
    for name, parse in (("naf", naf_subclass), ("commune", commune_for_code)):
        raw = values.get(name)
        if raw is None or isinstance(raw, str):
            try:
                cleaned[name] = parse(raw or "")
            except ValidationError as exc:
                errors[name] = exc.messages
    if not str(values.get("name", "")).strip():
        errors["name"] = ["La raison sociale est obligatoire."]
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def upsert_establishment(values: dict) -> tuple[Establishment, bool]:
    """Create or update the establishment keyed by its SIRET; returns (establishment, created)."""
    cleaned = clean_establishment(values)
    defaults = {f: cleaned[f] for f in FIELDS if f in cleaned}
    establishment = Establishment.objects.filter(siret=cleaned["siret"]).first()
    created = establishment is None
    if created:
        establishment = Establishment(siret=cleaned["siret"])
    for name, value in defaults.items():
        setattr(establishment, name, value)
    establishment.full_clean()
    establishment.save()
    return establishment, created


EDITABLE_ON_THE_WEB = ["name", "naf", "headcount_band", "address"]


@transaction.atomic
def update_establishment(user, establishment: Establishment, values: dict) -> list[str]:
    """Change what a company or its chamber may correct on the web (name, activity, headcount,
    address); returns the names of the fields that changed. Identity keys (SIRET, commune) come
    from SIRENE and are not edited here."""
    from django.core.exceptions import PermissionDenied

    from maillage.accounts import policy

    if not policy.can_edit_establishment(user, establishment):
        raise PermissionDenied("Vous ne pouvez pas modifier cet établissement.")
    changed = []
    for name in EDITABLE_ON_THE_WEB:
        if name in values and getattr(establishment, name) != values[name]:
            setattr(establishment, name, values[name])
            changed.append(name)
    if changed:
        establishment.full_clean()
        establishment.save(update_fields=[*changed, "updated_at"])
    return changed
