"""Who may see and change what: the shared part. Each app states the rules for its own objects in
its ``policy.py`` (``visible_<things>(user)`` querysets and ``can_<verb>(user, obj)`` predicates);
views, the API, exports and the admin call those functions and filter no queryset by themselves.
This module holds what every app's rules share: where a user stands (the staff ladder, written
once), which chambers a chamber user acts for, the agreements between chambers, the audit log.

Rules common to every app (see docs/architecture.md, "Permissions: where a rule goes"):
- platform staff (superusers) see everything;
- advisors and chamber administrators act for their chamber, and see what the chambers bound to
  it by an active data-sharing agreement share (identity; raw flows under the "flows" scope);
- a company user acts for the establishments they represent;
- a network animator acts for the networks they animate;
- anonymous visitors see no establishment and no flow (public statistics are aggregated elsewhere,
  with at least ``PUBLIC_MIN_GROUP`` establishments per figure).
"""

from __future__ import annotations

import enum

from django.db.models import Q, QuerySet

from maillage.accounts.models import AuditLog, Chamber, DataSharingAgreement, User

PUBLIC_MIN_GROUP = 5

CHAMBER_ROLES = {User.Role.ADVISOR, User.Role.CHAMBER_ADMIN}


class Standing(enum.Enum):
    """Where a user stands, in the order every rule asks: the first that applies wins."""

    ANONYMOUS = "anonymous"
    PLATFORM = "platform"  # superusers
    CHAMBER = "chamber"  # advisors and chamber administrators attached to a chamber
    COMPANY = "company"
    ANIMATOR = "animator"
    OTHER = "other"  # export advisors, cluster contacts, chamber roles without a chamber


def standing(user) -> Standing:
    """The staff ladder: anonymous, platform staff, chamber staff, then the user's role."""
    if not user.is_authenticated:
        return Standing.ANONYMOUS
    if user.is_superuser:
        return Standing.PLATFORM
    if is_chamber_staff(user):
        return Standing.CHAMBER
    if user.role == User.Role.COMPANY:
        return Standing.COMPANY
    if user.role == User.Role.ANIMATOR:
        return Standing.ANIMATOR
    return Standing.OTHER


def is_chamber_staff(user) -> bool:
    """An advisor or a chamber administrator attached to a chamber (superuser or not)."""
    return user.is_authenticated and user.role in CHAMBER_ROLES and user.chamber_id is not None


def is_platform_or_chamber_staff(user) -> bool:
    return standing(user) in (Standing.PLATFORM, Standing.CHAMBER)


def has_role(user, role: str) -> bool:
    """The user's role, whatever their other rights (a superuser may hold any role too)."""
    return user.is_authenticated and user.role == role


def is_company_user(user) -> bool:
    return has_role(user, User.Role.COMPANY)


def is_animator(user) -> bool:
    return has_role(user, User.Role.ANIMATOR)


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
    if not is_chamber_staff(user):
        return set()
    return {user.chamber_id} | partner_chamber_ids(user.chamber_id, flows_only=False)


def flow_chamber_ids(user) -> set[int]:
    """Chambers whose raw flows this chamber user may read."""
    if not is_chamber_staff(user):
        return set()
    return {user.chamber_id} | partner_chamber_ids(user.chamber_id, flows_only=True)


def visibility_scope(user) -> tuple:
    """What decides the rows a user may see through the ``visible_*`` rules of every app, as a
    hashable value: two users with the same scope see the same establishments, flows and
    suggestions. Cached reads (maillage.caching) key their entries on it, so that an entry
    built for one chamber is never served to another. Chamber staff: their chamber and the
    chambers whose identity and flows they read (the agreements in force today); anyone else
    below platform staff: the user themselves."""
    match standing(user):
        case Standing.ANONYMOUS:
            return ("anonymous",)
        case Standing.PLATFORM:
            return ("platform",)
        case Standing.CHAMBER:
            return (
                "chamber",
                user.chamber_id,
                tuple(sorted(directory_chamber_ids(user))),
                tuple(sorted(flow_chamber_ids(user))),
            )
    return ("user", user.pk)


def scope_chamber_ids(scope: tuple) -> tuple[set[int], set[int]]:
    """The chambers whose identity and whose raw flows a ``visibility_scope`` reads: those of
    ``directory_chamber_ids`` and ``flow_chamber_ids`` for chamber staff, none otherwise."""
    if scope[0] != "chamber":
        return set(), set()
    return set(scope[2]), set(scope[3])


def chamber_id_of(establishment) -> int | None:
    """The chamber whose territory holds the establishment's commune (``None`` outside any)."""
    territory = getattr(establishment.commune, "territory", None)
    return territory.chamber_id if territory else None


def is_own_chamber_staff(user, establishment) -> bool:
    """Chamber staff of the chamber whose territory holds the establishment (not a partner's)."""
    return is_chamber_staff(user) and chamber_id_of(establishment) == user.chamber_id


def visible_chambers(user) -> QuerySet:
    match standing(user):
        case Standing.PLATFORM:
            return Chamber.objects.all()
        case Standing.CHAMBER:
            return Chamber.objects.filter(pk__in=directory_chamber_ids(user))
    return Chamber.objects.none()


def visible_users(user) -> QuerySet:
    """Platform staff: everyone; a chamber administrator: their chamber's users and the users of
    the establishments of their chamber's territory; anyone else: themselves."""
    if user.is_authenticated and user.is_superuser:
        return User.objects.all()
    if has_role(user, User.Role.CHAMBER_ADMIN) and user.chamber_id:
        return User.objects.filter(
            Q(chamber_id=user.chamber_id)
            | Q(establishments__commune__territory__chamber_id=user.chamber_id)
        ).distinct()
    if user.is_authenticated:
        return User.objects.filter(pk=user.pk)
    return User.objects.none()


# --- Audit log ----------------------------------------------------------------------------------
# Every view of raw flows by chamber staff is logged, a company reading its own is not; the log is
# read by chamber administrators: entries about establishments of their chamber's territory and
# entries made by users of their chamber.


def flow_view_is_audited(user, establishment) -> bool:
    return is_platform_or_chamber_staff(user)


def can_read_audit_log(user) -> bool:
    return user.is_authenticated and (
        user.is_superuser or (user.role == User.Role.CHAMBER_ADMIN and user.chamber_id is not None)
    )


def visible_audit_entries(user) -> QuerySet:
    if not can_read_audit_log(user):
        return AuditLog.objects.none()
    if user.is_superuser:
        return AuditLog.objects.all()
    return AuditLog.objects.filter(
        Q(establishment__commune__territory__chamber_id=user.chamber_id)
        | Q(user__chamber_id=user.chamber_id)
    )
