from django import forms
from django.utils.translation import gettext_lazy as _

from maillage.engine.quantities import UNIT_ALIASES
from maillage.flows.models import Flow
from maillage.reference.fields import WasteCodeField

UNIT_CHOICES = [
    ("t", _("t (tonnes)")),
    ("kg", _("kg")),
    ("m3", _("m³")),
    ("L", _("L (litres)")),
    ("MWh", _("MWh")),
    ("kWh", _("kWh")),
    ("unit", _("unités")),
    ("h", _("heures")),
    ("m2", _("m²")),
]


class FlowForm(forms.ModelForm):
    waste_code = WasteCodeField(required=False)
    unit = forms.CharField(
        label=_("Unité"),
        max_length=12,
        help_text=_("t, kg, m³, L, MWh, kWh, unités, h, m²…"),
        widget=forms.TextInput(attrs={"list": "maillage-units"}),
    )

    class Meta:
        model = Flow
        fields = [
            "establishment",
            "visit",
            "direction",
            "category",
            "resource_class",
            "waste_code",
            "quantity",
            "unit",
            "period",
            "physical_state",
            "temperature_c",
            "available_from",
            "available_until",
            "description",
        ]

    def clean_unit(self):
        unit = self.cleaned_data["unit"].strip()
        return "m3" if unit == "m³" else "m2" if unit == "m²" else unit

    def clean(self):
        cleaned = super().clean()
        waste = cleaned.get("waste_code")
        # A waste code implies the waste category and, unless the user chose one, its class.
        if waste is not None and not cleaned.get("resource_class") and waste.resource_class:
            cleaned["resource_class"] = waste.resource_class
            self.instance.resource_class = waste.resource_class
        return cleaned


assert all(code in UNIT_ALIASES for code, _label in UNIT_CHOICES)
