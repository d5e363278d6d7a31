"""Who sees what on the map and the territorial dashboard (the audit log's rule is the accounts
app's, the synergy links' the synergies app's):

- the map of chamber staff shows the establishments of ``visible_establishments`` (their chamber
  and agreement partners), coloured by the categories of the flows they may read
  (``visible_flows``), and the synergy links of ``visible_suggestions`` whose two ends they see;
- a company's map shows its own establishments at their exact position and its opportunities
  anonymised: resource, quantity band and distance band, drawn around its own site (never the
  other side's position, name or commune);
- the public map (anonymous visitors, animators) shows aggregates by area only, each figure over
  at least ``PUBLIC_MIN_GROUP`` establishments (otherwise suppressed);
- the territorial dashboard is for chamber staff, over their own chamber's territory.
"""

from __future__ import annotations

from django.db.models import QuerySet

from maillage.accounts.models import Chamber
from maillage.accounts.policy import Standing, is_platform_or_chamber_staff, standing

MAP_CHAMBER, MAP_COMPANY, MAP_PUBLIC = "chamber", "company", "public"


def map_mode(user) -> str:
    """Which map the user gets: their chamber's, their company's, or public aggregates."""
    match standing(user):
        case Standing.PLATFORM | Standing.CHAMBER:
            return MAP_CHAMBER
        case Standing.COMPANY:
            return MAP_COMPANY
    return MAP_PUBLIC


def can_view_dashboard(user) -> bool:
    return is_platform_or_chamber_staff(user)


def dashboard_chambers(user) -> QuerySet:
    """Chambers whose territorial dashboard the user may read (their own; staff: all)."""
    match standing(user):
        case Standing.PLATFORM:
            return Chamber.objects.all()
        case Standing.CHAMBER:
            return Chamber.objects.filter(pk=user.chamber_id)
    return Chamber.objects.none()
