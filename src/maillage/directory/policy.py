"""Who may see and change the directory's objects: establishments, export advisors, clusters and
the SMEs' contact requests to them (networks and their members' spaces: ``networks.policy``).

Establishments:
- advisors and chamber administrators see the establishments of their chamber's territory and of
  chambers bound to it by an active data-sharing agreement; they edit (and record the ICPE
  rubriques of) their own chamber's only;
- a company user sees and edits only the establishments they represent;
- a network animator sees the member directory of the networks they animate (identity, not flows);
- anonymous visitors see none;
- the establishments' export (CSV / XLSX) is for platform and chamber staff and company users.

Export support:
- the directory of export advisors and clusters is visible to every signed-in user, without the
  advisors' e-mail addresses;
- an SME's export project (target countries and sectors) and its matches are for whoever may edit
  the establishment (its users, advisors of its chamber);
- an SME's contact request is made by whoever may manage its export project and is seen by them
  and by its addressee: the export advisor's own account, or the contact users of the cluster
  (``Cluster.managers``) — never by another export advisor, another cluster's contacts, another
  company, another chamber's advisors or an anonymous visitor (platform staff see everything);
- only the addressee answers (accept or decline, with a message), once; a pending request is
  withdrawn by the SME's side only (never the addressee, nor platform staff acting for the SME);
- contact details are exchanged only on acceptance: the SME's side then sees the advisor's (or
  the answering cluster contact's) e-mail and phone, the addressee sees the requester's name and
  e-mail and the establishment's address. A pending or declined request reveals neither;
- an export advisor edits their own directory entry; nobody else does, except platform staff in
  the back-office.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from maillage.accounts.models import User
from maillage.accounts.policy import (
    Standing,
    chamber_id_of,
    directory_chamber_ids,
    is_chamber_staff,
    is_own_chamber_staff,
    is_platform_or_chamber_staff,
    standing,
)
from maillage.directory.models import (
    Establishment,
    ExportContactRequest,
)

EXPORT_CONTACT_ROLES = {User.Role.EXPORT_ADVISOR, User.Role.CLUSTER_MANAGER}


def visible_establishments(user) -> QuerySet:
    qs = Establishment.objects.all()
    match standing(user):
        case Standing.PLATFORM:
            return qs
        case Standing.CHAMBER:
            return qs.of_chambers(directory_chamber_ids(user))
        case Standing.COMPANY:
            return qs.filter(users=user)
        case Standing.ANIMATOR:
            return qs.filter(memberships__network__animators=user).distinct()
    return qs.none()


def can_export_establishments(user) -> bool:
    """The establishments' export (what ``visible_establishments`` shows): platform and chamber
    staff, company users (their own); not network animators, nor anonymous visitors."""
    return standing(user) in (Standing.PLATFORM, Standing.CHAMBER, Standing.COMPANY)


def can_view_establishment(user, establishment) -> bool:
    return establishment.pk in visible_establishment_ids(user, [establishment.pk])


def visible_establishment_ids(user, ids) -> set[int]:
    """Which of these establishments the user may see: the same rule as
    ``visible_establishments``, decided from a lookup by primary key (cheap on any database,
    whereas filtering the joined queryset can make the planner scan a chamber's territory)."""
    ids = list(ids)
    if not ids or not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(Establishment.objects.filter(pk__in=ids).values_list("pk", flat=True))
    if is_chamber_staff(user):
        allowed = directory_chamber_ids(user)
        return {
            pk
            for pk, chamber_id in Establishment.objects.filter(pk__in=ids).values_list(
                "pk", "commune__territory__chamber_id"
            )
            if chamber_id in allowed
        }
    return set(visible_establishments(user).filter(pk__in=ids).values_list("pk", flat=True))


def can_edit_establishment(user, establishment) -> bool:
    """Advisors edit their own chamber's establishments only (partners read); companies their own.
    The same rule says who records flows and manages an export project or a supplier profile."""
    match standing(user):
        case Standing.PLATFORM:
            return True
        case Standing.CHAMBER:
            return chamber_id_of(establishment) == user.chamber_id
        case Standing.COMPANY:
            return user.establishments.filter(pk=establishment.pk).exists()
    return False


def can_set_icpe_rubriques(user, establishment) -> bool:
    """The ICPE rubriques an establishment holds decide whether it may be offered hazardous waste:
    only its own chamber's advisors (and administrators) record them, not the company itself."""
    if user.is_authenticated and user.is_superuser:
        return True
    return is_own_chamber_staff(user, establishment)


def can_import_establishment(user, existing, commune) -> bool:
    """Spreadsheet import of an establishment: chamber staff create one in their own territory and
    update one only if they may edit it (their chamber's, not a partner's) and it stays there."""
    match standing(user):
        case Standing.PLATFORM:
            return True
        case Standing.CHAMBER:
            pass
        case _:
            return False
    territory = getattr(commune, "territory", None)
    if territory is None or territory.chamber_id != user.chamber_id:
        return False
    return existing is None or can_edit_establishment(user, existing)


def can_create_establishment(user, commune=None) -> bool:
    """Chamber staff (and administrators) add an establishment missing from SIRENE, in their own
    chamber's territory only; without a commune: whether they may open the form at all."""
    match standing(user):
        case Standing.PLATFORM:
            return True
        case Standing.CHAMBER:
            return commune is None or can_import_establishment(user, None, commune)
    return False


def can_search_establishments(user) -> bool:
    """The establishment search (identity, for matching) is for chamber and platform staff."""
    return is_platform_or_chamber_staff(user)


def is_export_contact(user) -> bool:
    """Export advisors and cluster contacts: they answer SMEs' contact requests."""
    return user.is_authenticated and user.role in EXPORT_CONTACT_ROLES


def can_manage_export_project(user, establishment) -> bool:
    return can_edit_establishment(user, establishment)


def export_requests_addressed_to(user) -> QuerySet:
    """The contact requests this user answers: to their export-advisor entry or to a cluster
    they are a contact of."""
    if not user.is_authenticated:
        return ExportContactRequest.objects.none()
    ids = ExportContactRequest.objects.filter(
        Q(advisor__user=user) | Q(cluster__managers=user)
    ).values("pk")
    return ExportContactRequest.objects.filter(pk__in=ids)


def is_export_request_addressee(user, contact_request) -> bool:
    if not user.is_authenticated:
        return False
    if contact_request.advisor_id is not None:
        return contact_request.advisor.user_id == user.pk
    return contact_request.cluster.managers.filter(pk=user.pk).exists()


def can_view_export_request(user, contact_request) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser or is_export_request_addressee(user, contact_request):
        return True
    return can_manage_export_project(user, contact_request.establishment)


def can_answer_export_request(user, contact_request) -> bool:
    """The addressee only (not platform staff: an answer commits the advisor or the cluster)."""
    return is_export_request_addressee(user, contact_request)


def can_see_export_contacts(user, contact_request) -> bool:
    """Both sides see each other's contact details once the addressee accepted."""
    return contact_request.status == ExportContactRequest.Status.ACCEPTED and (
        can_view_export_request(user, contact_request)
    )


def can_request_export_contact(user, establishment) -> bool:
    return can_manage_export_project(user, establishment)


def can_edit_export_advisor(user, advisor) -> bool:
    return user.is_authenticated and (user.is_superuser or advisor.user_id == user.pk)


def can_withdraw_export_request(user, contact_request) -> bool:
    # Platform staff pass can_request_export_contact (they may edit anything) but do not act for the
    # SME: the withdrawal is the SME side's decision alone.
    return (
        user.is_authenticated
        and not user.is_superuser
        and can_request_export_contact(user, contact_request.establishment)
    )


def visible_export_requests(user) -> QuerySet:
    """Requests the user may see: addressed to them, or made for an establishment whose export
    project they manage (all for platform staff)."""
    if not user.is_authenticated:
        return ExportContactRequest.objects.none()
    if user.is_superuser:
        return ExportContactRequest.objects.all()
    own = Q(pk__in=export_requests_addressed_to(user).values("pk"))
    return ExportContactRequest.objects.filter(own | Q(establishment__in=_export_managed(user)))


def _export_managed(user) -> QuerySet:
    """Establishments whose export project the user manages, as ``can_manage_export_project``
    decides one by one (superusers are handled by the caller)."""
    match standing(user):
        case Standing.CHAMBER:
            return Establishment.objects.of_chambers([user.chamber_id])
        case Standing.COMPANY:
            return Establishment.objects.filter(users=user)
    return Establishment.objects.none()
