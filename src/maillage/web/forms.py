"""Forms of the web pages: establishment search filters and the establishment edit form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from maillage.directory.models import HEADCOUNT_CHOICES
from maillage.engine.legal import parse_rubriques
from maillage.reference.fields import CommuneField, NafField
from maillage.reference.lookup import picked_code
from maillage.reference.widgets import commune_input, naf_input


class EstablishmentSearchForm(forms.Form):
    q = forms.CharField(label=_("Nom ou SIRET"), required=False, max_length=100)
    naf = forms.CharField(
        label=_("Code NAF ou activité"), required=False, max_length=300, widget=naf_input()
    )
    commune = forms.CharField(
        label=_("Commune (nom ou code INSEE)"),
        required=False,
        max_length=120,
        widget=commune_input(),
    )
    epci = forms.CharField(label=_("EPCI (nom ou SIREN)"), required=False, max_length=100)
    visite = forms.ChoiceField(
        label=_("Visité"),
        required=False,
        choices=[("", _("tous")), ("oui", _("visités")), ("non", _("jamais visités"))],
    )

    def clean_naf(self) -> str:
        # a picked suggestion « 16.10A — Sciage… » filters on its code; typed text stays a prefix
        return picked_code(self.cleaned_data.get("naf") or "")

    def clean_commune(self) -> str:
        return picked_code(self.cleaned_data.get("commune") or "")

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        for name, value in cleaned.items():
            if isinstance(value, str) and "\x00" in value:
                self.add_error(name, _("Caractère nul interdit."))
        return cleaned


class EstablishmentEditForm(forms.Form):
    name = forms.CharField(label=_("Raison sociale ou enseigne"), max_length=255)
    naf = NafField()
    headcount_band = forms.ChoiceField(label=_("Tranche d'effectif"), choices=HEADCOUNT_CHOICES)
    address = forms.CharField(label=_("Adresse"), max_length=255, required=False)
    icpe_rubriques = forms.CharField(
        label=_("Rubriques ICPE (déchets)"),
        required=False,
        max_length=200,
        help_text=_(
            "Rubriques de l'arrêté préfectoral, séparées par des virgules : 2790, 2770… "
            "Vide : inconnu (l'autorisation par défaut de l'activité s'applique)."
        ),
    )

    def clean_icpe_rubriques(self) -> list[str]:

        text = self.cleaned_data.get("icpe_rubriques") or ""
        kept, errors = parse_rubriques(text.replace(";", ",").split(","))
        if errors:
            raise forms.ValidationError(errors)
        return list(kept)


class EstablishmentCreateForm(forms.Form):
    """An establishment missing from SIRENE, added by its chamber: NAF and commune by name or code."""

    siret = forms.CharField(label=_("SIRET"), max_length=20)
    name = forms.CharField(label=_("Raison sociale ou enseigne"), max_length=255)
    naf = NafField()
    commune = CommuneField()
    headcount_band = forms.ChoiceField(label=_("Tranche d'effectif"), choices=HEADCOUNT_CHOICES)
    address = forms.CharField(label=_("Adresse"), max_length=255, required=False)

    def clean_siret(self) -> str:
        return self.cleaned_data["siret"].replace(" ", "")
