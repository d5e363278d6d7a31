"""Form fields that take a reference code as typed by a user and return the reference object."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from maillage.reference.models import Commune, NafCode, WasteCode


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
    code = normalise_naf(value)
    try:
        return NafCode.objects.get(pk=code, level=NafCode.Level.SUBCLASS)
    except NafCode.DoesNotExist:
        raise forms.ValidationError(
            _(
                "Code NAF « %(value)s » inconnu : attendu une sous-classe NAF rév. 2, par exemple "
                "38.32Z."
            ),
            params={"value": value},
            code="unknown_naf",
        ) from None


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
    try:
        return Commune.objects.get(pk=value.strip())
    except Commune.DoesNotExist:
        raise forms.ValidationError(
            _(
                "Commune « %(value)s » inconnue : attendu un code INSEE à 5 caractères, par exemple "
                "78646 pour Versailles."
            ),
            params={"value": value},
            code="unknown_commune",
        ) from None


class NafField(forms.CharField):
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Code NAF"))
        kwargs.setdefault("max_length", 8)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return value.pk if isinstance(value, NafCode) else value

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
    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Commune (code INSEE)"))
        kwargs.setdefault("max_length", 5)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return value.pk if isinstance(value, Commune) else value

    def clean(self, value):
        value = super().clean(value)
        return commune(value) if value else None
