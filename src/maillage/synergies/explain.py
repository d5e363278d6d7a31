"""French sentences from a suggestion's structured explanation (what the engine stored)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats
from django.utils.translation import gettext as _

from maillage.engine.taxonomy import naf_falls_under, resource_classes

UNIT_LABELS = {"t": "t", "MWh": "MWh", "m3": "m³", "unit": "unités", "h": "h", "m2": "m²"}


def _label(code: str) -> str:
    rc = resource_classes().get(code)
    return rc.label if rc else code


def _n(value: float | None, decimals: int) -> str:
    """A number as French readers write it: decimal comma, narrow no-break space between
    thousands (the active locale's separators, so never « 19.9 km »)."""
    # rounded half up like the templates' floatformat (number_format alone truncates)
    rounded = Decimal(repr(float(value or 0))).quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP)
    shown = formats.number_format(rounded, decimal_pos=decimals, force_grouping=True)
    return shown.replace("\xa0", "\u202f")


def _quantity(value: float | None, unit: str) -> str:
    if value is None:
        return _("quantité non renseignée")
    shown = _n(value, 0 if value >= 10 else 1)
    return f"{shown} {UNIT_LABELS.get(unit, unit)}/an"


def _division(code: str, label: str) -> str:
    return f"NAF {code} « {label} »" if label else f"NAF {code}"


def _ranking_rules(e: dict) -> list[str]:
    """The rules that ranked a substitution: how strong the class match is in the waste
    hierarchy, which activities practise it, an intermediary receiver, how sure the need is.
    Explanations stored before these fields existed simply show none of them."""
    lines = []
    strength = e.get("class_strength")
    if strength is not None:
        if e.get("same_class"):
            lines.append(
                _(
                    "Réemploi direct : le besoin porte sur la ressource même qui est offerte "
                    "(correspondance la plus forte, %(s)s)."
                )
                % {"s": _n(strength, 2)}
            )
        elif e.get("below_recycling"):
            lines.append(
                _(
                    "Valorisation de rang inférieur (%(s)s) : par exemple la valorisation "
                    "énergétique d'une matière recyclable, en-dessous du recyclage matière dans "
                    "la hiérarchie des déchets (directive 2008/98/CE, article 4) ; un receveur qui "
                    "la recyclerait passerait devant."
                )
                % {"s": _n(strength, 2)}
            )
        else:
            lines.append(
                _(
                    "Substitution (%(s)s) : une ressource voisine remplace celle recherchée, "
                    "un cran en dessous du réemploi direct."
                )
                % {"s": _n(strength, 2)}
            )
    reserved = e.get("reserved_to_divisions") or []
    # reserved to NAF divisions, groups or classes; explanations stored before "receiver_naf"
    # existed name the receiver's division only
    receiver = e.get("receiver_naf") or e.get("receiver_division") or ""
    if reserved and receiver and naf_falls_under(receiver, reserved):
        lines.append(
            _(
                "Substitution pratiquée seulement par certaines activités (NAF %(list)s) : le "
                "receveur (%(div)s) en fait partie."
            )
            % {
                "list": ", ".join(reserved),
                "div": _division(e["receiver_division"], e.get("receiver_division_label", "")),
            }
        )
    if e.get("receiver_is_waste_operator"):
        lines.append(
            _(
                "Le receveur est un opérateur de collecte, de traitement ou de récupération des "
                "déchets (%(div)s) : une filière intermédiaire, que l'entreprise a déjà. Il est "
                "classé comme une substitution, si bien qu'un industriel qui utiliserait "
                "directement la ressource, à distance comparable, passe devant : la boucle est "
                "plus courte et la valeur reste sur le territoire."
            )
            % {
                "div": _division(
                    e.get("receiver_division", ""), e.get("receiver_division_label", "")
                )
            }
        )
    declared = e.get("need_declared")
    if declared is True:
        lines.append(_("Besoin déclaré (relevé par un conseiller ou par l'entreprise)."))
    elif declared is False:
        lines.append(
            _(
                "Besoin déduit du profil sectoriel de l'activité, non déclaré : il pèse moins "
                "dans le score et reste à confirmer lors d'une visite."
            )
        )
    return lines


def _hazardous_line(e: dict) -> str:
    recorded = e.get("hazardous_rubriques_recorded") or []
    assumed = e.get("hazardous_rubriques_assumed") or []
    if recorded:
        return _("Déchet dangereux : autorisation ICPE %(r)s enregistrée pour le receveur.") % {
            "r": "/".join(recorded)
        }
    if assumed:
        return _(
            "Déchet dangereux : suppose une autorisation ICPE %(r)s du receveur (habituelle "
            "pour son activité, non enregistrée : à vérifier)."
        ) % {"r": "/".join(assumed)}
    return _("Déchet dangereux : le receveur est une installation de traitement autorisée.")


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
        lines.extend(_ranking_rules(e))
        if e.get("waste_code"):
            lines.append(_("Code déchet déclaré : %(code)s.") % {"code": e["waste_code"]})
        lines.append(
            _("Distance : %(d)s km (limite utile pour cette ressource : %(max)s km).")
            % {"d": _n(e.get("distance_km"), 1), "max": _n(e.get("max_distance_km"), 0)}
        )
        lines.append(
            _("Offre : %(o)s ; besoin : %(n)s.")
            % {
                "o": _quantity(e.get("offer_quantity"), e.get("unit", "")),
                "n": _quantity(e.get("need_quantity"), e.get("unit", "")),
            }
        )
        if e.get("coverage") is not None:
            lines.append(
                _("L'offre couvre %(p)s %% du besoin.") % {"p": _n(100 * e["coverage"], 0)}
            )
        if e.get("offer_temperature") is not None and e.get("need_temperature") is not None:
            lines.append(
                _("Température : %(o)s °C disponibles pour %(n)s °C requis.")
                % {"o": _n(e["offer_temperature"], 0), "n": _n(e["need_temperature"], 0)}
            )
        if e.get("hazardous"):
            lines.append(_hazardous_line(e))
        return lines + _feedback_lines(e)
    if kind == "mutualisation":
        verb = _("produisent") if e.get("direction") == "offer" else _("ont besoin de")
        return [
            _("%(n)d établissements à moins de %(r)s km les uns des autres %(verb)s « %(cls)s ».")
            % {
                "n": e.get("members", 0),
                "r": _n(e.get("radius_km"), 0),
                "verb": verb,
                "cls": _label(e.get("class", "")),
            },
            _("Volume cumulé : %(q)s : collecte, achat ou équipement à partager.")
            % {"q": _quantity(e.get("total_quantity"), e.get("unit", ""))},
        ]
    if kind == "prospect":
        what = _("consomment") if e.get("direction") == "need" else _("produisent")
        if e.get("recovery_route"):
            # found by a legal recovery route of the offered waste, not by the sector profile
            lines = [
                _(
                    "Les établissements de cette activité (NAF %(div)s) valorisent ce déchet%(code)s "
                    ": %(note)s."
                )
                % {
                    "div": e.get("prospect_division", ""),
                    "code": f" ({e['waste_code']})" if e.get("waste_code") else "",
                    "note": e.get("recovery_note") or e["recovery_route"],
                },
                _("À %(d)s km ; aucun flux encore recensé : un établissement à visiter.")
                % {"d": _n(e.get("distance_km"), 1)},
            ]
            return lines + _feedback_lines(e)
        return [
            _(
                "Les établissements de cette activité (NAF %(div)s) %(what)s souvent « %(cls)s » "
                "(%(w)s %% d'entre eux selon le profil sectoriel)."
            )
            % {
                "div": e.get("prospect_division", ""),
                "what": what,
                "cls": _label(e.get("prospect_class", "")),
                "w": _n(100 * e.get("sector_weight", 0), 0),
            },
            _("À %(d)s km ; aucun flux encore recensé : un établissement à visiter.")
            % {"d": _n(e.get("distance_km"), 1)},
        ] + _feedback_lines(e)
    return []


def _feedback_lines(e: dict) -> list[str]:
    lines = []
    if e.get("feedback_implemented"):
        lines.append(
            _("Favorisé : %(n)d synergies de ce type réalisées sur la plateforme.")
            % {"n": e["feedback_implemented"]}
        )
    if e.get("feedback_impossible"):
        lines.append(
            _(
                "Défavorisé : %(n)d synergies de ce type abandonnées sur la plateforme comme "
                "techniquement impossibles."
            )
            % {"n": e["feedback_impossible"]}
        )
    return lines
