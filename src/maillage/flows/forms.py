"""Forms of the flows app: a flow as typed by a user (codes, units), a visit and its flows."""

from typing import cast

from django import forms
from django.core.validators import MaxLengthValidator
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from maillage.engine.quantities import UNIT_ALIASES, QuantityError, unit_kind
from maillage.engine.taxonomy import profile_entries
from maillage.flows.models import Flow
from maillage.reference.fields import WasteCodeField
from maillage.reference.models import ResourceClass
from maillage.reference.names import resource_class_code

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
        description = self.fields.get("description")
        if isinstance(description, forms.CharField):
            description.max_length = DESCRIPTION_MAX_LENGTH
            description.validators.append(MaxLengthValidator(DESCRIPTION_MAX_LENGTH))
            description.widget.attrs["maxlength"] = str(DESCRIPTION_MAX_LENGTH)

    def clean_unit(self):
        unit = self.cleaned_data["unit"].strip()
        return "m3" if unit == "m³" else "m2" if unit == "m²" else unit

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        waste = cleaned.get("waste_code")
        # A waste code implies the waste category and, unless the user chose one, its class.
        if waste is not None and not cleaned.get("resource_class") and waste.resource_class:
            cleaned["resource_class"] = waste.resource_class
            self.instance.resource_class = waste.resource_class
        return cleaned


assert all(code in UNIT_ALIASES for code, _label in UNIT_CHOICES)


class ResourceClassField(forms.ModelChoiceField):
    """A resource class typed as its French label, short label (« Chaleur ») or code, with a
    <datalist> of the labels beside it; the spreadsheet import resolves names the same way."""

    widget = forms.TextInput

    def __init__(self, **kwargs):

        kwargs.setdefault("label", _("Classe de ressource"))
        kwargs.setdefault(
            "error_messages",
            {"invalid_choice": _("Classe de ressource inconnue : choisissez-la dans la liste.")},
        )
        super().__init__(queryset=ResourceClass.objects.order_by("code"), **kwargs)
        self.widget.attrs.update({"list": "maillage-resource-classes", "autocomplete": "off"})

    def to_python(self, value):
        if value in self.empty_values or isinstance(value, ResourceClass):
            return super().to_python(value)

        code = resource_class_code(str(value))
        if code is None:
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            )
        return super().to_python(code)

    def prepare_value(self, value):
        """A stored class is shown by its French label, as the user would type it."""
        if isinstance(value, ResourceClass):
            return value.label
        # Re-displaying rejected input: a NUL byte (refused by clean) cannot go to PostgreSQL.
        if isinstance(value, str) and value and "\x00" not in value:
            klass = ResourceClass.objects.filter(pk=value).first()
            return klass.label if klass is not None else value
        return super().prepare_value(value)


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


# Values that, typed in a visit row, make it a flow to record; a pre-filled (proposed) row's
# direction, class and unit alone do not: left without a quantity it is simply not kept.
ROW_VALUES = (
    "waste_code",
    "quantity",
    "temperature_c",
    "available_from",
    "available_until",
    "description",
)


class VisitFlowForm(RecordedFlowForm):
    """One row of the visit form. ``proposed`` marks a row pre-filled from the NAF profile."""

    proposed = forms.CharField(required=False, widget=forms.HiddenInput)

    def has_changed(self):
        if not self.is_bound:
            return super().has_changed()

        def typed(name: str) -> bool:
            return bool(str(self.data.get(self.add_prefix(name), "")).strip())

        if any(typed(name) for name in ROW_VALUES):
            return True
        return typed("resource_class") and not typed("proposed")


VISIT_MAX_ROWS = 60


class BaseVisitFlowFormSet(forms.BaseFormSet):
    """Rows of a visit: the ``proposed`` rows (initial values per row, from the establishment's
    NAF profile) then ``extra`` empty ones; every row is extra, so untouched ones are skipped."""

    def __init__(self, *args, proposed: list[dict] | None = None, **kwargs):
        self.proposed = proposed or []
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.extra = len(self.proposed) + self.extra

    def get_form_kwargs(self, index):
        kwargs = super().get_form_kwargs(index)
        if index is not None and index < len(self.proposed):
            kwargs["initial"] = {**self.proposed[index], "proposed": "1"}
        return kwargs

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if "DELETE" in form.fields:
            form.fields["DELETE"].label = _("Retirer cette ligne")


# The stubs type formset_factory() as returning type[BaseFormSet], whatever ``formset`` is.
VisitFlowFormSet = cast(
    type[BaseVisitFlowFormSet],
    forms.formset_factory(
        VisitFlowForm,
        formset=BaseVisitFlowFormSet,
        extra=2,
        min_num=0,
        max_num=VISIT_MAX_ROWS,
        validate_max=True,
        can_delete=True,
    ),
)


def proposed_rows(establishment) -> list[dict]:
    """The typical flows of the establishment's activity (engine sector profile), as visit rows:
    direction, class and its unit; the quantity is left for the advisor."""

    if not establishment.naf_id:
        return []
    entries = profile_entries(establishment.naf_id)
    units = dict(
        ResourceClass.objects.filter(code__in={e.class_code for e in entries}).values_list(
            "code", "unit"
        )
    )
    return [
        {"direction": e.direction, "resource_class": e.class_code, "unit": units[e.class_code]}
        for e in entries
        if e.class_code in units
    ][: VISIT_MAX_ROWS - 2]
