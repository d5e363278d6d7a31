"""Who may import spreadsheets and download exports (CSV / XLSX, web, command line and API).

The rows of each export come from the owning app's ``visible_*`` functions, so an export never
shows more than the pages do."""

from __future__ import annotations

from maillage.accounts.policy import Standing, is_platform_or_chamber_staff, standing


def can_import_spreadsheets(user) -> bool:
    """Chamber and platform staff import establishments and flows (each row is then checked
    against ``can_import_establishment``)."""
    return is_platform_or_chamber_staff(user)


def exportable_datasets(user) -> list[str]:
    """Which exports a user may download:
    - platform staff and chamber staff: establishments, flows and suggestions (their chamber and
      the chambers bound to it by an agreement, flows only under the "flows" scope);
    - a company user: its own establishments and their flows;
    - anyone else (network animators, anonymous visitors): nothing.
    """
    match standing(user):
        case Standing.PLATFORM | Standing.CHAMBER:
            return ["etablissements", "flux", "suggestions"]
        case Standing.COMPANY:
            return ["etablissements", "flux"]
    return []
