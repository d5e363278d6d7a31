from django import forms

from maillage.directory.models import Establishment
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
