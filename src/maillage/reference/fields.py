"""Form fields that take a reference code as typed by a user and return the reference object."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from maillage.reference.lookup import commune_label, naf_label, resolve_commune, resolve_naf
from maillage.reference.models import Commune, NafCode, WasteCode
from maillage.reference.widgets import commune_input, naf_input


def normalise_naf(value: str) -> str:
    """``3832z``, ``38.32 Z`` or ``3832Z`` → ``38.32Z``."""
    compact = value.replace(" ", "").replace(".", "").upper()
    if len(compact) == 5:
        return f"{compact[:2]}.{compact[2:]}"
    return value.strip().upper()


def normalise_waste_code(value: str) -> str:
    """``15 01 03``, ``150103`` or ``17 06 05*`` → ``150103`` / ``170605``."""
    return "".join(ch for ch in value if ch.isdigit())


def naf_subclass(value: str) -> NafCode:
    """A NAF sub-class from its code, a picked suggestion, its label or an unambiguous name."""
    return resolve_naf(value)


def waste_entry(value: str) -> WasteCode:
    code = normalise_waste_code(value)
    try:
        return WasteCode.objects.get(pk=code, level=WasteCode.Level.ENTRY)
    except WasteCode.DoesNotExist:
        raise forms.ValidationError(
            _(
                "Code déchet « %(value)s » inconnu dans la liste européenne des déchets "
                "(six chiffres, par exemple 15 01 03)."
            ),
            params={"value": value},
            code="unknown_waste_code",
        ) from None


def commune(value: str) -> Commune:
    """A commune from its INSEE code, a picked suggestion or a name only one commune has."""
    return resolve_commune(value)


class NafField(forms.CharField):
    """A NAF sub-class typed as a code or a name, with suggestions as the user types."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Activité (code NAF ou nom)"))
        kwargs.setdefault("max_length", 300)
        kwargs.setdefault("widget", naf_input())
        super().__init__(**kwargs)

    def prepare_value(self, value):
        # Re-displaying rejected input: a NUL byte (refused by clean) cannot go to PostgreSQL.
        if isinstance(value, str) and value and "\x00" not in value:
            found = NafCode.objects.filter(pk=value, level=NafCode.Level.SUBCLASS).first()
            value = found or value
        return naf_label(value) if isinstance(value, NafCode) else value

    def clean(self, value):
        value = super().clean(value)
        return naf_subclass(value) if value else None


class WasteCodeField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Code déchet"))
        kwargs.setdefault("max_length", 10)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return value.display if isinstance(value, WasteCode) else value

    def clean(self, value):
        value = super().clean(value)
        return waste_entry(value) if value else None


class CommuneField(forms.CharField):
    """A commune typed as its INSEE code or its name, with suggestions as the user types."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Commune (nom ou code INSEE)"))
        kwargs.setdefault("max_length", 120)
        kwargs.setdefault("widget", commune_input())
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, str) and len(value) == 5 and "\x00" not in value:
            value = Commune.objects.filter(pk=value).first() or value
        return commune_label(value) if isinstance(value, Commune) else value

    def clean(self, value):
        value = super().clean(value)
        return commune(value) if value else None
