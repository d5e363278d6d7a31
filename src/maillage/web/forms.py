"""Forms of the web pages: establishment search filters and the establishment edit form."""

from __future__ import annotations

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from maillage.directory.models import HEADCOUNT_CHOICES
from maillage.reference.fields import NafField

NAF_AUTOCOMPLETE = {
    "list": "maillage-naf",
    "autocomplete": "off",
    "hx-get": reverse_lazy("options-naf"),
    "hx-trigger": "input changed delay:250ms, focus once",
    "hx-target": "#maillage-naf",
    "hx-swap": "innerHTML",
    "hx-sync": "this:replace",
}


class EstablishmentSearchForm(forms.Form):
    q = forms.CharField(label=_("Nom ou SIRET"), required=False, max_length=100)
    naf = forms.CharField(
        label=_("Code NAF"), required=False, max_length=8, widget=forms.TextInput(NAF_AUTOCOMPLETE)
    )
    commune = forms.CharField(
        label=_("Commune (nom ou code INSEE)"), required=False, max_length=100
    )
    epci = forms.CharField(label=_("EPCI (nom ou SIREN)"), required=False, max_length=100)
    visite = forms.ChoiceField(
        label=_("Visité"),
        required=False,
        choices=[("", _("tous")), ("oui", _("visités")), ("non", _("jamais visités"))],
    )

    def clean(self):
        cleaned = super().clean()
        for name, value in cleaned.items():
            if isinstance(value, str) and "\x00" in value:
                self.add_error(name, _("Caractère nul interdit."))
        return cleaned


class EstablishmentEditForm(forms.Form):
    name = forms.CharField(label=_("Raison sociale ou enseigne"), max_length=255)
    naf = NafField(widget=forms.TextInput(NAF_AUTOCOMPLETE))
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
        from maillage.engine.legal import parse_rubriques

        text = self.cleaned_data.get("icpe_rubriques") or ""
        kept, errors = parse_rubriques(text.replace(";", ",").split(","))
        if errors:
            raise forms.ValidationError(errors)
        return list(kept)
