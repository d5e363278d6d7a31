"""Who may import spreadsheets (who may download each export is the owning app's rule: see
``exports.datasets``)."""

from __future__ import annotations

from maillage.accounts.policy import is_platform_or_chamber_staff


def can_import_spreadsheets(user) -> bool:
    """Chamber and platform staff import establishments and flows (each row is then checked
    against ``can_import_establishment``)."""
    return is_platform_or_chamber_staff(user)
