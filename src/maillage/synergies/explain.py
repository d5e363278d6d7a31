"""French sentences from a suggestion's structured explanation (what the engine stored)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from maillage.engine.taxonomy import resource_classes

UNIT_LABELS = {"t": "t", "MWh": "MWh", "m3": "m³", "unit": "unités", "h": "h", "m2": "m²"}


def _label(code: str) -> str:
    rc = resource_classes().get(code)
    return rc.label if rc else code


def _quantity(value: float | None, unit: str) -> str:
    if value is None:
        return _("quantité non renseignée")
    shown = f"{value:,.0f}".replace(",", "\u202f") if value >= 10 else f"{value:.1f}"
    return f"{shown} {UNIT_LABELS.get(unit, unit)}/an"


def explain(kind: str, e: dict) -> list[str]:
    if kind == "substitution":
        lines = []
        if e.get("same_class"):
            lines.append(
                _("Même ressource des deux côtés : %(cls)s.") % {"cls": _label(e["offer_class"])}
            )
        else:
            lines.append(
                _("« %(offer)s » peut remplacer « %(need)s ».")
                % {"offer": _label(e["offer_class"]), "need": _label(e["need_class"])}
            )
            if e.get("substitution_note"):
                lines.append(e["substitution_note"])
        if e.get("waste_code"):
            lines.append(_("Code déchet déclaré : %(code)s.") % {"code": e["waste_code"]})
        lines.append(
            _("Distance : %(d).1f km (limite utile pour cette ressource : %(max).0f km).")
            % {"d": e.get("distance_km", 0), "max": e.get("max_distance_km", 0)}
        )
        lines.append(
            _("Offre : %(o)s ; besoin : %(n)s.")
            % {
                "o": _quantity(e.get("offer_quantity"), e.get("unit", "")),
                "n": _quantity(e.get("need_quantity"), e.get("unit", "")),
            }
        )
        if e.get("coverage") is not None:
            lines.append(_("L'offre couvre %(p).0f %% du besoin.") % {"p": 100 * e["coverage"]})
        if e.get("offer_temperature") is not None and e.get("need_temperature") is not None:
            lines.append(
                _("Température : %(o).0f °C disponibles pour %(n).0f °C requis.")
                % {"o": e["offer_temperature"], "n": e["need_temperature"]}
            )
        if e.get("hazardous"):
            lines.append(
                _("Déchet dangereux : le receveur est une installation de traitement autorisée.")
            )
        return lines
    if kind == "mutualisation":
        verb = _("produisent") if e.get("direction") == "offer" else _("ont besoin de")
        return [
            _("%(n)d établissements à moins de %(r).0f km les uns des autres %(verb)s « %(cls)s ».")
            % {
                "n": e.get("members", 0),
                "r": e.get("radius_km", 0),
                "verb": verb,
                "cls": _label(e.get("class", "")),
            },
            _("Volume cumulé : %(q)s : collecte, achat ou équipement à partager.")
            % {"q": _quantity(e.get("total_quantity"), e.get("unit", ""))},
        ]
    if kind == "prospect":
        what = _("consomment") if e.get("direction") == "need" else _("produisent")
        return [
            _(
                "Les établissements de cette activité (NAF %(div)s) %(what)s souvent « %(cls)s » "
                "(%(w).0f %% d'entre eux selon le profil sectoriel)."
            )
            % {
                "div": e.get("prospect_division", ""),
                "what": what,
                "cls": _label(e.get("prospect_class", "")),
                "w": 100 * e.get("sector_weight", 0),
            },
            _("À %(d).1f km ; aucun flux encore recensé : un établissement à visiter.")
            % {"d": e.get("distance_km", 0)},
        ]
    return []
