"""The single place that says who may see and change what. Views, the API, exports and the admin
call these functions; none of them filters querysets by itself.

Rules (see docs/architecture.md, "Confidentiality model"):
- platform staff (superusers) see everything;
- advisors and chamber administrators see the establishments of their chamber's territory and of
  chambers bound to it by an active data-sharing agreement; they see raw flows of their own chamber
  and of chambers whose agreement has the "flows" scope;
- a company user sees and edits only the establishments they represent, and their flows;
- a network animator sees the member directory of the networks they animate (identity, not flows);
- anonymous visitors see no establishment and no flow (public statistics are aggregated elsewhere,
  with at least ``PUBLIC_MIN_GROUP`` establishments per figure).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from maillage.accounts.models import Chamber, DataSharingAgreement, User

PUBLIC_MIN_GROUP = 5

CHAMBER_ROLES = {User.Role.ADVISOR, User.Role.CHAMBER_ADMIN}


def _is_chamber_staff(user) -> bool:
    return user.is_authenticated and user.role in CHAMBER_ROLES and user.chamber_id is not None


def partner_chamber_ids(chamber_id: int, *, flows_only: bool) -> set[int]:
    """Chambers bound to ``chamber_id`` by an active agreement (with the flows scope if asked)."""
    agreements = DataSharingAgreement.objects.active().involving(chamber_id)
    if flows_only:
        agreements = agreements.filter(scope=DataSharingAgreement.Scope.FLOWS)
    ids: set[int] = set()
    for a, b in agreements.values_list("chamber_a_id", "chamber_b_id"):
        ids.add(b if a == chamber_id else a)
    return ids


def directory_chamber_ids(user) -> set[int]:
    """Chambers whose establishments' identity this chamber user may see (for matching)."""
    if not _is_chamber_staff(user):
        return set()
    return {user.chamber_id} | partner_chamber_ids(user.chamber_id, flows_only=False)


def flow_chamber_ids(user) -> set[int]:
    """Chambers whose raw flows this chamber user may read."""
    if not _is_chamber_staff(user):
        return set()
    return {user.chamber_id} | partner_chamber_ids(user.chamber_id, flows_only=True)


def visible_establishments(user) -> QuerySet:
    from maillage.directory.models import Establishment

    qs = Establishment.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    if _is_chamber_staff(user):
        return qs.of_chambers(directory_chamber_ids(user))
    if user.role == User.Role.COMPANY:
        return qs.filter(users=user)
    if user.role == User.Role.ANIMATOR:
        return qs.filter(memberships__network__animators=user).distinct()
    return qs.none()


def visible_flows(user) -> QuerySet:
    from maillage.flows.models import Flow

    qs = Flow.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    if _is_chamber_staff(user):
        return qs.filter(establishment__commune__territory__chamber_id__in=flow_chamber_ids(user))
    if user.role == User.Role.COMPANY:
        return qs.filter(establishment__users=user)
    return qs.none()


def visible_visits(user) -> QuerySet:
    from maillage.flows.models import Visit

    qs = Visit.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    if _is_chamber_staff(user):
        return qs.filter(establishment__commune__territory__chamber_id__in=flow_chamber_ids(user))
    if user.role == User.Role.COMPANY:
        return qs.filter(establishment__users=user)
    return qs.none()


def visible_chambers(user) -> QuerySet:
    if user.is_authenticated and user.is_superuser:
        return Chamber.objects.all()
    if _is_chamber_staff(user):
        return Chamber.objects.filter(pk__in=directory_chamber_ids(user))
    return Chamber.objects.none()


def visible_users(user) -> QuerySet:
    if user.is_authenticated and user.is_superuser:
        return User.objects.all()
    if user.is_authenticated and user.role == User.Role.CHAMBER_ADMIN and user.chamber_id:
        own_establishments = visible_establishments(user).filter(
            commune__territory__chamber_id=user.chamber_id
        )
        return User.objects.filter(
            Q(chamber_id=user.chamber_id) | Q(establishments__in=own_establishments)
        ).distinct()
    if user.is_authenticated:
        return User.objects.filter(pk=user.pk)
    return User.objects.none()


def _chamber_id_of(establishment) -> int | None:
    territory = getattr(establishment.commune, "territory", None)
    return territory.chamber_id if territory else None


def can_view_establishment(user, establishment) -> bool:
    return establishment.pk in visible_establishment_ids(user, [establishment.pk])


def visible_establishment_ids(user, ids) -> set[int]:
    """Which of these establishments the user may see: the same rule as
    ``visible_establishments``, decided from a lookup by primary key (cheap on any database,
    whereas filtering the joined queryset can make the planner scan a chamber's territory)."""
    from maillage.directory.models import Establishment

    ids = list(ids)
    if not ids or not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(Establishment.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if _is_chamber_staff(user):
        allowed = directory_chamber_ids(user)
        return {
            pk
            for pk, chamber_id in Establishment.objects.filter(pk__in=ids).values_list(
                "pk", "commune__territory__chamber_id"
            )
            if chamber_id in allowed
        }
    return set(visible_establishments(user).filter(pk__in=ids).values_list("pk", flat=True))


def can_view_flows(user, establishment) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if _is_chamber_staff(user):
        return _chamber_id_of(establishment) in flow_chamber_ids(user)
    if user.role == User.Role.COMPANY:
        return user.establishments.filter(pk=establishment.pk).exists()
    return False


def can_edit_flows(user, establishment) -> bool:
    """Advisors record flows for their own chamber only (partners read); companies edit their own."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if _is_chamber_staff(user):
        return _chamber_id_of(establishment) == user.chamber_id
    if user.role == User.Role.COMPANY:
        return user.establishments.filter(pk=establishment.pk).exists()
    return False


def can_edit_establishment(user, establishment) -> bool:
    return can_edit_flows(user, establishment)


def is_chamber_staff(user) -> bool:
    return _is_chamber_staff(user)


def flow_view_is_audited(user, establishment) -> bool:
    """Every view of raw flows by chamber staff is logged; a company reading its own is not."""
    return user.is_authenticated and (user.is_superuser or _is_chamber_staff(user))


def visible_suggestions(user) -> QuerySet:
    """Chamber staff see the suggestions that involve their chamber or a partner chamber; the
    anonymised view offered to companies is built from ``suggestions_about`` instead."""
    from maillage.synergies.models import Suggestion

    qs = Suggestion.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    if _is_chamber_staff(user):
        own = {user.chamber_id}
        return qs.filter(Q(chamber_id__in=own) | Q(partner_chamber_id__in=own))
    return qs.none()


def can_manage_suggestion(user, suggestion) -> bool:
    """Advisors of either chamber involved move a suggestion along the pipeline."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return _is_chamber_staff(user) and user.chamber_id in (
        suggestion.chamber_id,
        suggestion.partner_chamber_id,
    )


def can_run_detection(user) -> bool:
    """Chamber staff start detection runs for their own chamber."""
    return _is_chamber_staff(user)


def visible_detection_runs(user) -> QuerySet:
    from maillage.synergies.models import DetectionRun

    if user.is_authenticated and user.is_superuser:
        return DetectionRun.objects.all()
    if _is_chamber_staff(user):
        return DetectionRun.objects.filter(chamber_id=user.chamber_id)
    return DetectionRun.objects.none()


# ---------------------------------------------------------------------------------------------
# Map, territorial dashboard and audit log (app ``maillage.atlas``)
# ---------------------------------------------------------------------------------------------
"""Who sees what on the map, the dashboard and the audit log:

- the map of chamber staff shows the establishments of ``visible_establishments`` (their chamber
  and agreement partners), coloured by the categories of the flows they may read
  (``visible_flows``), and the synergy links of ``visible_suggestions`` whose two ends they see;
- a company's map shows its own establishments at their exact position and its opportunities
  anonymised: resource, quantity band and distance band, drawn around its own site (never the
  other side's position, name or commune);
- the public map (anonymous visitors, animators) shows aggregates by area only, each figure over
  at least ``PUBLIC_MIN_GROUP`` establishments (otherwise suppressed);
- the territorial dashboard is for chamber staff, over their own chamber's territory;
- the audit log is read by chamber administrators: entries about establishments of their chamber's
  territory and entries made by users of their chamber.
"""


MAP_CHAMBER, MAP_COMPANY, MAP_PUBLIC = "chamber", "company", "public"


def map_mode(user) -> str:
    """Which map the user gets: their chamber's, their company's, or public aggregates."""
    if not user.is_authenticated:
        return MAP_PUBLIC
    if user.is_superuser or _is_chamber_staff(user):
        return MAP_CHAMBER
    if user.role == User.Role.COMPANY:
        return MAP_COMPANY
    return MAP_PUBLIC


def public_figure(count: int, value=None):
    """A public figure over ``count`` establishments: ``value`` (or the count) if the group is
    large enough, ``None`` (statistical secrecy) otherwise."""
    if count < PUBLIC_MIN_GROUP:
        return None
    return count if value is None else value


def can_view_dashboard(user) -> bool:
    return user.is_authenticated and (user.is_superuser or _is_chamber_staff(user))


def dashboard_chambers(user) -> QuerySet:
    """Chambers whose territorial dashboard the user may read (their own; staff: all)."""
    if user.is_authenticated and user.is_superuser:
        return Chamber.objects.all()
    if _is_chamber_staff(user):
        return Chamber.objects.filter(pk=user.chamber_id)
    return Chamber.objects.none()


def can_read_audit_log(user) -> bool:
    return user.is_authenticated and (
        user.is_superuser or (user.role == User.Role.CHAMBER_ADMIN and user.chamber_id is not None)
    )


def visible_audit_entries(user) -> QuerySet:
    from maillage.accounts.models import AuditLog

    if not can_read_audit_log(user):
        return AuditLog.objects.none()
    if user.is_superuser:
        return AuditLog.objects.all()
    return AuditLog.objects.filter(
        Q(establishment__commune__territory__chamber_id=user.chamber_id)
        | Q(user__chamber_id=user.chamber_id)
    )


def company_opportunities(user) -> QuerySet:
    """Current, not abandoned suggestions with one of the company user's own flows on one side
    (shown anonymised: see ``atlas.selectors.company_opportunities``)."""
    from maillage.synergies.models import Suggestion

    if not (user.is_authenticated and user.role == User.Role.COMPANY):
        return Suggestion.objects.none()
    own = user.establishments.values("pk")
    return (
        Suggestion.objects.filter(is_current=True)
        .exclude(status=Suggestion.Status.ABANDONED)
        .filter(Q(offer_flow__establishment__in=own) | Q(need_flow__establishment__in=own))
    )
