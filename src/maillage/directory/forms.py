from django import forms
from django.utils.translation import gettext_lazy as _

from maillage.directory.models import Establishment, ExportSector
from maillage.directory.selectors import country_names_text
from maillage.reference.fields import CommuneField, NafField


class EstablishmentForm(forms.ModelForm):
    naf = NafField()
    commune = CommuneField()

    class Meta:
        model = Establishment
        fields = [
            "siret",
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

    def clean_siret(self):
        return self.cleaned_data["siret"].replace(" ", "")


def _codes(text: str) -> list[str]:
    return [c.strip() for c in text.replace(";", ",").split(",") if c.strip()]


class ExportAdvisorForm(forms.Form):
    """What an export advisor edits of their own directory entry; codes are checked by the
    model's validators (French messages) when the service saves."""

    available = forms.BooleanField(
        label=_("Disponible pour de nouvelles entreprises"), required=False
    )
    availability_note = forms.CharField(
        label=_("Disponibilité"),
        max_length=200,
        required=False,
        help_text=_("par exemple : deux rendez-vous par mois, pas en août"),
    )
    countries = forms.CharField(
        label=_("Pays d'expertise (noms en français séparés par des virgules : Maroc, Viêt Nam…)"),
        max_length=2000,
        required=False,
        widget=forms.TextInput(attrs={"list": "country-names", "autocomplete": "off"}),
    )
    languages = forms.CharField(
        label=_("Langues (codes ISO 639-1 séparés par des virgules : fr, ar, vi…)"),
        max_length=200,
        required=False,
    )
    sectors = forms.MultipleChoiceField(
        label=_("Secteurs"),
        choices=ExportSector.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    phone = forms.CharField(label=_("Téléphone"), max_length=30, required=False)

    @classmethod
    def initial_for(cls, advisor) -> dict:
        return {
            "available": advisor.available,
            "availability_note": advisor.availability_note,
            "countries": country_names_text(advisor.countries),
            "languages": ", ".join(advisor.languages),
            "sectors": advisor.sectors,
            "phone": advisor.phone,
        }

    def values(self) -> dict:
        data = dict(self.cleaned_data)
        data["countries"] = _codes(data["countries"])
        data["languages"] = _codes(data["languages"])
        return data
