"""Forms of the flows app: a flow as typed by a user (codes, units), a visit and its flows."""

from django import forms
from django.core.validators import MaxLengthValidator
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from maillage.engine.quantities import UNIT_ALIASES, QuantityError, unit_kind
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


# A flow's description is a few sentences; the cap keeps megabyte texts out of every page that
# lists flows (the spreadsheet import applies the same one).
DESCRIPTION_MAX_LENGTH = 2000


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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if (description := self.fields.get("description")) is not None:
            description.max_length = DESCRIPTION_MAX_LENGTH
            description.validators.append(MaxLengthValidator(DESCRIPTION_MAX_LENGTH))
            description.widget.attrs["maxlength"] = str(DESCRIPTION_MAX_LENGTH)

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


class ResourceClassField(forms.ModelChoiceField):
    """A resource class typed as its code, with a <datalist> of codes and labels beside it."""

    widget = forms.TextInput

    def __init__(self, **kwargs):
        from maillage.reference.models import ResourceClass

        kwargs.setdefault("label", _("Classe de ressource"))
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": _("Classe de ressource inconnue : choisissez-la dans la liste.")},
        )
        super().__init__(queryset=ResourceClass.objects.order_by("code"), **kwargs)
        self.widget.attrs.update({"list": "maillage-resource-classes", "autocomplete": "off"})


class RecordedFlowForm(FlowForm):
    """A flow typed on the web (visit formset, company space, edit): establishment and visit are
    set by the view; the unit must measure the kind of quantity of the chosen class."""

    resource_class = ResourceClassField(required=False)

    class Meta(FlowForm.Meta):
        fields = [f for f in FlowForm.Meta.fields if f not in ("establishment", "visit")]
        widgets = {
            "available_from": forms.DateInput(attrs={"type": "date"}),
            "available_until": forms.DateInput(attrs={"type": "date"}),
            "description": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["waste_code"].widget.attrs.update(
            {
                "list": "maillage-waste-codes",
                "autocomplete": "off",
                "hx-get": reverse_lazy("options-waste-codes"),
                "hx-trigger": "input changed delay:250ms, focus once",
                "hx-target": "#maillage-waste-codes",
                "hx-swap": "innerHTML",
                "hx-sync": "this:replace",
            }
        )
        if self.instance.waste_code_id:  # shown in the official notation, as typed
            self.initial["waste_code"] = self.instance.waste_code.display
        self.fields["category"].required = False
        self.fields["category"].help_text = _("déduite de la classe si laissée vide")

    def clean(self):
        cleaned = super().clean()
        klass = cleaned.get("resource_class")
        if klass is None and not self.has_error("resource_class"):
            self.add_error(
                "resource_class",
                _("Indiquez une classe de ressource ou un code déchet qui en désigne une."),
            )
            return cleaned
        if klass is not None and not cleaned.get("category"):
            cleaned["category"] = klass.category
            self.instance.category = klass.category
        unit = cleaned.get("unit")
        if klass is not None and unit and (message := unit_error(klass, unit)):
            self.add_error("unit", message)
        return cleaned


def unit_error(klass, unit: str) -> str | None:
    """Why ``unit`` cannot measure a flow of class ``klass`` (an unknown unit, or another kind of
    quantity than the class's, such as electricity in t), or None. The web forms and the
    spreadsheet import share it so that both accept and refuse the same flows."""
    try:
        kind = unit_kind(unit)
    except QuantityError as exc:
        return str(exc)
    expected = unit_kind(klass.unit)
    if kind == expected:
        return None
    return _(
        "« %(cls)s » se mesure en %(unit)s : indiquez une quantité de ce type (%(examples)s)."
    ) % {
        "cls": klass.label,
        "unit": klass.unit,
        "examples": KIND_EXAMPLES.get(expected, klass.unit),
    }


KIND_EXAMPLES = {
    "mass": "t, kg",
    "volume": "m³, L",
    "energy": "MWh, kWh",
    "count": "unités",
    "time": "h",
    "area": "m²",
}


class VisitForm(forms.Form):
    date = forms.DateField(
        label=_("Date de la visite"), widget=forms.DateInput(attrs={"type": "date"})
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


VisitFlowFormSet = forms.formset_factory(
    RecordedFlowForm, extra=2, min_num=0, max_num=30, validate_max=True
)
