"""Resource classes as people name them: code, French label or short label (before its
parenthesis), matched without case, accents or punctuation. Shared by the web forms and the
spreadsheet import so that both accept the same names (« Chaleur », « heat »…)."""

from __future__ import annotations

import unicodedata
from collections import Counter

from maillage.reference.models import ResourceClass


def name_key(text: str) -> str:
    """Lower case, no accents, words joined by ``_``: « Tranche d'effectif » → tranche_d_effectif."""
    decomposed = unicodedata.normalize("NFKD", text.strip().lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "_".join("".join(c if c.isalnum() else " " for c in plain).split())


def resource_class_names() -> dict[str, str]:
    """Normalised code, French label and short label (before its parenthesis) → class code."""

    names: dict[str, str] = {}
    short: Counter[str] = Counter()
    classes = list(ResourceClass.objects.order_by("code").values_list("code", "label"))
    for _code, label in classes:
        short[name_key(label.split(" (")[0])] += 1
    for code, label in classes:
        names[name_key(code)] = code
        names[name_key(label)] = code
        if short[name_key(label.split(" (")[0])] == 1:  # « Chaleur » but not an ambiguous prefix
            names.setdefault(name_key(label.split(" (")[0]), code)
    return names


def resource_class_code(text: str) -> str | None:
    """The code of the class named ``text`` (code, label or short label), or None."""
    return resource_class_names().get(name_key(text)) if text and text.strip() else None
