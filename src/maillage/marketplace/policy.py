"""Who sees and does what on the marketplace ("tous acheteurs, tous vendeurs"):

- a need's details follow its visibility once published: the whole platform (every signed-in
  user), one chamber (users of establishments in that chamber's territory and that chamber's
  staff), one network (its members' users — for a federation, its clubs' members too, as in
  ``network_member_ids`` — its animators and the staff of its chamber);
- drafts and archived needs are seen only by the buyer's users (and the buyer's chamber staff);
- the buyer's users edit, publish, compare responses, shortlist, award each lot and close;
  chamber staff of the buyer's chamber follow the need but do not act in the buyer's name;
- on award (of the need, or of each of its lots), contacts are exchanged between the buyer and
  each retained side only (``award_contact_establishment_ids``); a supplier whose response lost
  sees none, even when other lots of the need went to others;
- a response is seen by its supplier's users and the buyer's users, nobody else; a response
  given by a group of co-contractors (consortium) is also seen, read-only, by the users of every
  member of the group, who thereby also see the need it answers and its outcome;
- a hidden buyer is revealed, beyond the buyer's own side, platform staff and the buyer's chamber
  staff, to the establishments whose response was shortlisted or retained, and, when that
  response was given by a group of co-contractors, to every member of the group — nobody else.
  Pages, notifications, e-mails and the API all ask ``can_see_buyer``;
- consortium suggestions (groups of suppliers the platform proposes for a need with lots) are
  the buyer's: they are seen, and their computation started, by whoever may edit the need;
- the sourcing directory (active supplier profiles) is open to every signed-in user, never to
  anonymous visitors; a profile is edited by whoever may edit the establishment;
- the back-office lists follow the same rules for non-superusers: needs of the buyers of their
  chamber (whose identity they see), responses they may read, supplier profiles of the directory.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from maillage.accounts.policy import (
    Standing,
    is_chamber_staff,
    is_company_user,
    is_own_chamber_staff,
    standing,
)
from maillage.directory.models import Establishment
from maillage.directory.policy import can_edit_establishment
from maillage.marketplace.models import Consortium, Need, Response, SupplierProfile
from maillage.networks.policy import network_member_ids


def _user_establishment_ids(user) -> set[int]:
    if not is_company_user(user):
        return set()
    cached = getattr(user, "_marketplace_establishment_ids", None)
    if cached is None:
        cached = set(user.establishments.values_list("pk", flat=True))
        user._marketplace_establishment_ids = cached
    return cached


def _published_need_visibility(user) -> Q:
    """Published or closed needs this user may read, as a filter on Need."""
    live = Q(status__in=[Need.Status.PUBLISHED, Need.Status.AWARDED, Need.Status.NOT_AWARDED])
    audience = Q(visibility=Need.Visibility.PLATFORM)
    own = _user_establishment_ids(user)
    if own:
        audience |= Q(
            visibility=Need.Visibility.CHAMBER,
            visibility_chamber__territory__commune__establishments__in=own,
        )
        # A network's members as for its members' space: for a federation, its clubs' members.
        audience |= Q(
            visibility=Need.Visibility.NETWORK,
            visibility_network_id__in=network_member_ids(user),
        )
    if is_chamber_staff(user):
        audience |= Q(visibility=Need.Visibility.CHAMBER, visibility_chamber_id=user.chamber_id)
        audience |= Q(
            visibility=Need.Visibility.NETWORK, visibility_network__chamber_id=user.chamber_id
        )
    if standing(user) == Standing.ANIMATOR:
        audience |= Q(visibility=Need.Visibility.NETWORK, visibility_network__animators=user)
    return live & audience


def visible_needs(user) -> QuerySet:
    qs = Need.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    rule = _published_need_visibility(user)
    own = _user_establishment_ids(user)
    if own:
        rule |= Q(buyer_id__in=own)
        rule |= Q(pk__in=_consortium_responses(own).values("need_id"))
    if is_chamber_staff(user):
        rule |= Q(buyer__commune__territory__chamber_id=user.chamber_id)
    ids = Need.objects.filter(rule).values("pk")
    return qs.filter(pk__in=ids)


def can_edit_need(user, need) -> bool:
    """The buyer's users (and platform staff) edit, publish, shortlist and close."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return need.buyer_id in _user_establishment_ids(user)


def can_publish_need_for(user, establishment) -> bool:
    return user.is_authenticated and (
        user.is_superuser or establishment.pk in _user_establishment_ids(user)
    )


def responding_establishments(user, need) -> list:
    """The establishments in whose name this user may respond to this need (never the buyer)."""
    if not user.is_authenticated or not need.accepts_responses:
        return []
    if not visible_needs(user).filter(pk=need.pk).exists():
        return []
    own = _user_establishment_ids(user) - {need.buyer_id}
    return list(Establishment.objects.filter(pk__in=own).order_by("name", "pk"))


def visible_responses(user) -> QuerySet:
    qs = Response.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    own = _user_establishment_ids(user)
    if not own:
        return qs.none()
    return qs.filter(
        Q(supplier_id__in=own)
        | Q(pk__in=_consortium_responses(own).values("pk"))
        | (Q(need__buyer_id__in=own) & ~Q(need__status=Need.Status.DRAFT))
    )


def _consortium_responses(establishment_ids) -> QuerySet:
    """Responses given by a group of co-contractors one of these establishments belongs to."""
    return Response.objects.filter(
        consortium__isnull=False, consortium__members__in=establishment_ids
    )


def can_see_buyer(user, need) -> bool:
    """A hidden buyer is revealed to its own side, platform staff, the buyer's chamber staff, and
    suppliers whose response has been shortlisted."""
    if not need.hide_buyer:
        return True
    if not user.is_authenticated:
        return False
    if user.is_superuser or can_edit_need(user, need):
        return True
    if is_own_chamber_staff(user, need.buyer):
        return True
    # Suppliers (and every member of a group) whose response was shortlisted or retained:
    # ``buyer_revealed_establishment_ids`` below.
    return bool(_user_establishment_ids(user) & buyer_revealed_establishment_ids(need))


def award_contact_establishment_ids(user, need) -> list[int]:
    """Whose contacts this user reads on a need with retained responses (awarded, or published
    with some lots already awarded): the buyer's users (and platform staff) those of each
    retained supplier and of every member of its group; each retained side's users those of the
    buyer. Nobody else — not a supplier whose response lost (even on a lot another supplier
    won), another company or chamber — and nothing before an award."""
    if not user.is_authenticated or need.status not in (
        Need.Status.PUBLISHED,
        Need.Status.AWARDED,
    ):
        return []
    winners = list(
        need.responses.filter(is_winner=True).select_related("consortium").order_by("pk")
    )
    if not winners:
        return []
    sides: list[int] = []
    for winner in winners:
        sides.append(winner.supplier_id)
        if winner.consortium_id:
            sides += list(winner.consortium.members.order_by("pk").values_list("pk", flat=True))
    sides = list(dict.fromkeys(sides))
    if can_edit_need(user, need):
        return sides
    if _user_establishment_ids(user) & set(sides):
        return [need.buyer_id]
    return []


def visible_supplier_profiles(user) -> QuerySet:
    qs = SupplierProfile.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    own = _user_establishment_ids(user)
    return qs.filter(Q(is_active=True) | Q(establishment_id__in=own))


def can_edit_supplier_profile(user, establishment) -> bool:
    return can_edit_establishment(user, establishment)


def buyer_revealed_establishment_ids(need) -> set[int]:
    """Establishments to which the need's hidden buyer is revealed through the responses: the
    supplier of each shortlisted or retained response and, for a group's response, every member
    of the group (the lead is a member too)."""
    chosen = Response.objects.filter(need_id=need.pk).filter(
        Q(shortlisted_at__isnull=False) | Q(is_winner=True)
    )
    ids = set(chosen.values_list("supplier_id", flat=True))
    ids |= set(
        Consortium.members.through.objects.filter(consortium__responses__in=chosen).values_list(
            "establishment_id", flat=True
        )
    )
    return ids


def can_view_consortium_suggestions(user, need) -> bool:
    """The buyer's users (and platform staff) see the suggested groups and (re)start them."""
    return can_edit_need(user, need)


def administrable_needs(user) -> QuerySet:
    """Needs listed in the back-office: all for platform staff; for chamber staff, the needs of
    buyers of their own chamber (whose identity the policy shows them anyway)."""
    match standing(user):
        case Standing.PLATFORM:
            return Need.objects.all()
        case Standing.CHAMBER:
            return Need.objects.filter(buyer__commune__territory__chamber_id=user.chamber_id)
    return Need.objects.none()
