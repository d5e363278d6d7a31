"""Finding NAF sub-classes and communes as people type them: a code, a name, part of a name, with
or without accents or capitals. Feeds the autocompletion endpoints and resolves what a form
receives (a picked suggestion, a code, or an unambiguous name) to the reference object."""

from __future__ import annotations

import re
import unicodedata

from django import forms
from django.db.models import F, Q
from django.utils.translation import gettext as _

from maillage.reference.models import Commune, NafCode

LIMIT = 20
# Shown in an error message when a name is ambiguous or unknown.
CANDIDATES_IN_ERROR = 6

# What people call an activity when it is not a word of its NAF label (« scierie » is filed under
# « Sciage et rabotage du bois »). Trade names of the establishments chambers visit most.
NAF_TRADE_NAMES: dict[str, tuple[str, ...]] = {
    "abattoir": ("10.11Z", "10.12Z"),
    "blanchisserie": ("96.01A", "96.01B"),
    "boulangerie": ("10.71C",),
    "brasserie": ("11.05Z",),
    "carriere": ("08.11Z", "08.12Z"),
    "charpente": ("16.23Z", "43.91A"),
    "chaudronnerie": ("25.11Z", "25.29Z"),
    "chaufferie": ("35.30Z",),
    "cimenterie": ("23.51Z",),
    "cidrerie": ("11.03Z",),
    "decheterie": ("38.11Z",),
    "dechetterie": ("38.11Z",),
    "distillerie": ("11.01Z",),
    "fromagerie": ("10.51C",),
    "garage": ("45.20A", "45.20B"),
    "imprimerie": ("18.12Z", "18.11Z"),
    "laiterie": ("10.51A", "10.51C"),
    "menuiserie": ("16.23Z", "43.32A"),
    "meunerie": ("10.61A",),
    "minoterie": ("10.61A",),
    "papeterie": ("17.12Z",),
    "plasturgie": ("22.29A", "22.22Z", "22.21Z"),
    "reseau de chaleur": ("35.30Z",),
    "scierie": ("16.10A",),
    "station d epuration": ("37.00Z",),
    "sucrerie": ("10.81Z",),
    "tannerie": ("15.11Z",),
    "usinage": ("25.62B",),
    "verrerie": ("23.13Z", "23.19Z", "23.11Z"),
    "vinification": ("11.02B",),
}

_ACCENTS = {
    "a": "aàâäáãå",
    "c": "cç",
    "e": "eéèêë",
    "i": "iîïíì",
    "o": "oôöóòõ",
    "u": "uùûüú",
    "y": "yÿý",
    "n": "nñ",
}
_NAF_CODE = re.compile(r"^\s*(\d{2})\.?(\d{2})\s*([A-Za-z])\b")
_PICKED_COMMUNE = re.compile(r"\((\w{5})\)\s*$")


def fold(text: str) -> str:
    """Lower case, no accents, punctuation as spaces: « L'Haÿ-les-Roses » → « l hay les roses »."""
    text = text.casefold().replace("œ", "oe").replace("æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join("".join(ch if ch.isalnum() else " " for ch in plain).split())


def _name_pattern(folded: str) -> str:
    """A regular expression matching ``folded`` in a stored name whatever its accents, capitals
    and punctuation (portable: SQLite's REGEXP and PostgreSQL's ``~*`` both read it)."""
    parts = []
    for ch in folded:
        if ch == " ":
            parts.append(r"[^0-9A-Za-zÀ-ÿ]+")
        elif ch in _ACCENTS:
            variants = _ACCENTS[ch]
            parts.append(f"[{variants}{variants.upper()}]")
        else:
            parts.append(re.escape(ch))
    return "".join(parts)


# -- NAF ---------------------------------------------------------------------------------------


def naf_label(naf: NafCode) -> str:
    """How a sub-class is shown and picked: « 16.10A — Sciage et rabotage du bois… »."""
    return f"{naf.code} — {naf.label.strip()}"


def _subclasses() -> list[tuple[str, str]]:
    return list(
        NafCode.objects.filter(level=NafCode.Level.SUBCLASS)
        .order_by("code")
        .values_list("code", "label")
    )


def _code_prefix(text: str) -> str | None:
    """``16``, ``16.1``, ``1610``, ``16.10a`` → the code prefix to look for; None for words."""
    compact = text.replace(" ", "").replace(".", "").upper()
    if len(compact) < 2 or not compact[:2].isdigit() or len(compact) > 5:
        return None
    if not compact[2:4].isdigit() and compact[2:4]:
        return None
    return f"{compact[:2]}.{compact[2:]}" if len(compact) > 2 else compact


def search_naf(text: str, limit: int = LIMIT) -> list[NafCode]:
    """Sub-classes whose code starts with the typed code, or whose label or trade name holds every
    typed word (trade names first, then whole words, starts of words, anywhere), in code order
    within each rank."""
    text = text.strip()
    picked = _NAF_CODE.match(text)
    prefix = f"{picked[1]}.{picked[2]}{picked[3].upper()}" if picked else _code_prefix(text)
    rows = _subclasses()
    if prefix:
        codes = [code for code, _label in rows if code.startswith(prefix)]
    else:
        words = fold(text).split()
        if not words:
            return []
        ranked: dict[str, int] = {}
        for name, trade_codes in NAF_TRADE_NAMES.items():
            if all(any(t.startswith(w) for t in name.split()) for w in words):
                for code in trade_codes:
                    ranked.setdefault(code, 0)
        for code, label in rows:
            label_words = fold(label).split()
            if all(w in label_words for w in words):
                ranked.setdefault(code, 1)
            elif all(any(t.startswith(w) for t in label_words) for w in words):
                ranked.setdefault(code, 2)
            elif all(w in " ".join(label_words) for w in words):
                ranked.setdefault(code, 3)
        codes = sorted(ranked, key=lambda c: (ranked[c], c))
    codes = codes[:limit]
    by_code = NafCode.objects.in_bulk(codes)
    return [by_code[c] for c in codes if c in by_code]


def resolve_naf(text: str) -> NafCode:
    """The sub-class meant by ``text``: its code (``16.10A``, ``1610a``), a picked suggestion
    (« 16.10A — Sciage… »), its exact label or trade name, or words that match one sub-class only.
    ValidationError in French otherwise, listing the candidates when there are several."""
    text = text.strip()
    picked = _NAF_CODE.match(text)
    if picked:
        code = f"{picked[1]}.{picked[2]}{picked[3].upper()}"
        found = NafCode.objects.filter(pk=code, level=NafCode.Level.SUBCLASS).first()
        if found is not None:
            return found
    elif _code_prefix(text):
        within = search_naf(text, limit=2)  # « 16.10 »: a class with a single sub-class
        if len(within) == 1 and len(_code_prefix(text) or "") >= 5:
            return within[0]
    else:
        wanted = fold(text)
        exact = [c for c, label in _subclasses() if fold(label) == wanted]
        exact = exact or list(NAF_TRADE_NAMES.get(wanted, ()))
        if len(exact) == 1:
            return NafCode.objects.get(pk=exact[0])
        candidates = search_naf(text, limit=CANDIDATES_IN_ERROR + 1)
        if len(candidates) == 1:
            return candidates[0]
        if candidates:
            raise _ambiguous(
                _(
                    "Plusieurs activités correspondent à « %(value)s » : %(candidates)s. "
                    "Choisissez-en une dans la liste ou tapez son code NAF."
                ),
                text,
                list(map(naf_label, candidates)),
                "ambiguous_naf",
            )
    raise forms.ValidationError(
        _(
            "Code NAF « %(value)s » inconnu : attendu une sous-classe NAF rév. 2 (par exemple "
            "38.32Z) ou le nom d'une activité (« scierie »)."
        ),
        params={"value": text},
        code="unknown_naf",
    )


def _ambiguous(message: str, text: str, labels: list[str], code: str):
    """The French error for a typed value that several entries match: the first
    CANDIDATES_IN_ERROR of their labels, then « … » when there are more."""
    shown = " ; ".join(labels[:CANDIDATES_IN_ERROR])
    more = " ; …" if len(labels) > CANDIDATES_IN_ERROR else ""
    return forms.ValidationError(
        message, params={"value": text, "candidates": shown + more}, code=code
    )


# -- communes ----------------------------------------------------------------------------------


def commune_label(commune: Commune) -> str:
    """How a commune is shown and picked: « Dunkerque (59183) »."""
    return f"{commune.name} ({commune.code})"


def _by_population(qs):
    return qs.order_by(F("population").desc(nulls_last=True), "code")


def _is_code_like(text: str) -> bool:
    compact = text.replace(" ", "").upper()
    return (
        bool(compact) and (compact.isdigit() or compact[:2] in ("2A", "2B")) and len(compact) <= 5
    )


def search_communes(text: str, limit: int = LIMIT) -> list[Commune]:
    """Communes whose INSEE code or postal code starts with the typed digits, or whose name is,
    starts with, or holds the typed text (accents and capitals aside): the exact name first, then
    the most populous."""
    text = text.strip()
    picked = _PICKED_COMMUNE.search(text)
    if picked:
        return list(Commune.objects.filter(pk=picked[1].upper()))
    if _is_code_like(text):
        digits = text.replace(" ", "").upper()
        return list(
            _by_population(
                Commune.objects.filter(
                    Q(code__startswith=digits) | Q(postal_codes__regex=rf"(^|,)\s*{digits}")
                )
            )[:limit]
        )
    folded = fold(text)
    if len(folded) < 2:
        return []
    # One scan of the names holding the text; ranked here: exact, start, start of a word, inside.
    rows = Commune.objects.filter(name__iregex=_name_pattern(folded)).values_list(
        "code", "name", "population"
    )

    def rank(row) -> tuple:
        name = fold(row[1])
        place = (
            0
            if name == folded
            else 1
            if name.startswith(folded)
            else 2
            if f" {folded}" in f" {name}"
            else 3
        )
        return (place, -(row[2] or 0), row[0])

    codes = [row[0] for row in sorted(rows, key=rank)[:limit]]
    by_code = Commune.objects.in_bulk(codes)
    return [by_code[c] for c in codes]


def resolve_commune(text: str) -> Commune:
    """The commune meant by ``text``: its INSEE code, a picked suggestion (« Dunkerque (59183) »),
    a postal code or a name that only one commune has. ValidationError in French otherwise,
    listing the candidates."""
    text = text.strip()
    picked = _PICKED_COMMUNE.search(text)
    code = (picked[1] if picked else text.replace(" ", "")).upper()
    found = Commune.objects.filter(pk=code).first() if len(code) == 5 else None
    if found is not None:
        return found
    if picked:
        candidates = []
    elif _is_code_like(text):
        candidates = list(
            _by_population(Commune.objects.filter(postal_codes__regex=rf"(^|,)\s*{code}(,|$)"))[
                : CANDIDATES_IN_ERROR + 1
            ]
        )
        if len(candidates) == 1:
            return candidates[0]
    else:
        folded = fold(text)
        candidates = (
            list(
                _by_population(Commune.objects.filter(name__iregex=rf"^{_name_pattern(folded)}$"))[
                    : CANDIDATES_IN_ERROR + 1
                ]
            )
            if folded
            else []
        )
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            near = search_communes(text, limit=CANDIDATES_IN_ERROR)
            if near:
                raise forms.ValidationError(
                    _(
                        "Commune « %(value)s » inconnue. Vouliez-vous dire : %(candidates)s ? "
                        "Choisissez-la dans la liste ou tapez son code INSEE."
                    ),
                    params={"value": text, "candidates": " ; ".join(map(commune_label, near))},
                    code="unknown_commune",
                )
    if candidates:
        raise _ambiguous(
            _(
                "Plusieurs communes correspondent à « %(value)s » : %(candidates)s. "
                "Choisissez-en une dans la liste ou tapez son code INSEE."
            ),
            text,
            list(map(commune_label, candidates)),
            "ambiguous_commune",
        )
    raise forms.ValidationError(
        _(
            "Commune « %(value)s » inconnue : attendu son nom ou son code INSEE à 5 caractères, "
            "par exemple 78646 pour Versailles."
        ),
        params={"value": text},
        code="unknown_commune",
    )


def picked_code(text: str) -> str:
    """The code inside a picked suggestion (« 16.10A — Sciage… » → 16.10A, « Dunkerque (59183) »
    → 59183), else the text itself: filters keep their own code-or-name rules."""
    text = text.strip()
    naf = _NAF_CODE.match(text)
    if naf and "—" in text:
        return f"{naf[1]}.{naf[2]}{naf[3].upper()}"
    commune = _PICKED_COMMUNE.search(text)
    return commune[1].upper() if commune else text
