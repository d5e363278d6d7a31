"""A text input that proposes reference entries as the user types (static script
``reference/autocomplete.js``, no inline code); without JavaScript it stays a plain text field."""

from __future__ import annotations

from django import forms
from django.urls import reverse_lazy


class AutocompleteInput(forms.TextInput):
    def __init__(self, url_name: str, attrs: dict | None = None):
        base = {
            "data-autocomplete": reverse_lazy(url_name),
            "autocomplete": "off",
            "role": "combobox",
            "aria-autocomplete": "list",
            "aria-expanded": "false",
            "spellcheck": "false",
        }
        super().__init__({**base, **(attrs or {})})


def naf_input(**attrs) -> AutocompleteInput:
    return AutocompleteInput("reference-naf", attrs)


def commune_input(**attrs) -> AutocompleteInput:
    return AutocompleteInput("reference-communes", attrs)
