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

from dataclasses import dataclass

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


def can_set_icpe_rubriques(user, establishment) -> bool:
    """The ICPE rubriques an establishment holds decide whether it may be offered hazardous waste:
    only its own chamber's advisors (and administrators) record them, not the company itself."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return _is_chamber_staff(user) and _chamber_id_of(establishment) == user.chamber_id


def can_import_establishment(user, existing, commune) -> bool:
    """Spreadsheet import of an establishment: chamber staff create one in their own territory and
    update one only if they may edit it (their chamber's, not a partner's) and it stays there."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if not _is_chamber_staff(user):
        return False
    territory = getattr(commune, "territory", None)
    if territory is None or territory.chamber_id != user.chamber_id:
        return False
    return existing is None or can_edit_establishment(user, existing)


def can_create_establishment(user, commune=None) -> bool:
    """Chamber staff (and administrators) add an establishment missing from SIRENE, in their own
    chamber's territory only; without a commune: whether they may open the form at all."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if not (_is_chamber_staff(user) and user.chamber_id):
        return False
    return commune is None or can_import_establishment(user, None, commune)


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


# --- Advisor workspace, synergy pipeline and company space (issue 4, part "ui") ---------------
"""Rules of the advisor workspace, the introduction pipeline and the company space:

- a visit is recorded by chamber staff for an establishment of their own chamber (partners read);
- a flow's history is readable by whoever may read the flow itself;
- an introduction is proposed by the advisors who manage the suggestion, for a substitution only
  (two establishments); each side is answered by a company user representing that establishment;
- a company user sees the introductions of the establishments they represent, anonymised
  (resource, quantity band, distance band) until every side has accepted; then both sides see each
  other's identity and contacts. A declined introduction never reveals anything.
"""


def can_record_visit(user, establishment) -> bool:
    if user.is_authenticated and user.is_superuser:
        return True
    return _is_chamber_staff(user) and _chamber_id_of(establishment) == user.chamber_id


def can_view_flow_history(user, flow) -> bool:
    return can_view_flows(user, flow.establishment)


def can_propose_introduction(user, suggestion) -> bool:
    from maillage.synergies.models import Suggestion

    return (
        suggestion.kind == Suggestion.Kind.SUBSTITUTION
        and suggestion.offer_flow_id is not None
        and suggestion.need_flow_id is not None
        and can_manage_suggestion(user, suggestion)
    )


def visible_introductions(user) -> QuerySet:
    """Company users: the introduction rows of the establishments they represent."""
    from maillage.synergies.models import Introduction

    if user.is_authenticated and user.role == User.Role.COMPANY:
        return Introduction.objects.filter(establishment__users=user)
    return Introduction.objects.none()


def can_respond_introduction(user, introduction) -> bool:
    return (
        user.is_authenticated
        and user.role == User.Role.COMPANY
        and user.establishments.filter(pk=introduction.establishment_id).exists()
    )


def introduction_is_mutual(sides) -> bool:
    """Every side of the suggestion accepted (at least two sides): then, and only then, a company
    user answering for one side (``visible_introductions``) sees the other side's identity,
    contacts and exact quantity."""
    sides = list(sides)
    return len(sides) >= 2 and all(s.accepted_at and not s.declined_at for s in sides)


def suggestions_about(user) -> QuerySet:
    """Company users: the current, not abandoned substitutions that involve a flow of an
    establishment they represent. Shown anonymised only (resource, quantity band, distance band):
    the other side's identity goes through an introduction that both accept."""
    from maillage.synergies.models import Suggestion

    if not (user.is_authenticated and user.role == User.Role.COMPANY):
        return Suggestion.objects.none()
    own = user.establishments.values("pk")
    return (
        Suggestion.objects.filter(kind=Suggestion.Kind.SUBSTITUTION, is_current=True)
        .filter(Q(offer_flow__establishment__in=own) | Q(need_flow__establishment__in=own))
        .exclude(status=Suggestion.Status.ABANDONED)
    )


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


# == Marketplace ("tous acheteurs, tous vendeurs") ============================================
"""Who sees and does what on the marketplace:

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
- a hidden buyer's identity is revealed to a supplier only once its response is shortlisted (or
  retained), and then to every member of the group when the response is a group's;
- the sourcing directory (active supplier profiles) is open to every signed-in user, never to
  anonymous visitors; a profile is edited by whoever may edit the establishment.
"""


def _user_establishment_ids(user) -> set[int]:
    if not user.is_authenticated or user.role != User.Role.COMPANY:
        return set()
    cached = getattr(user, "_marketplace_establishment_ids", None)
    if cached is None:
        cached = set(user.establishments.values_list("pk", flat=True))
        user._marketplace_establishment_ids = cached
    return cached


def _published_need_visibility(user) -> Q:
    """Published or closed needs this user may read, as a filter on Need."""
    from maillage.marketplace.models import Need

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
    if _is_chamber_staff(user):
        audience |= Q(visibility=Need.Visibility.CHAMBER, visibility_chamber_id=user.chamber_id)
        audience |= Q(
            visibility=Need.Visibility.NETWORK, visibility_network__chamber_id=user.chamber_id
        )
    if user.role == User.Role.ANIMATOR:
        audience |= Q(visibility=Need.Visibility.NETWORK, visibility_network__animators=user)
    return live & audience


def visible_needs(user) -> QuerySet:
    from maillage.marketplace.models import Need

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
    if _is_chamber_staff(user):
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
    from maillage.directory.models import Establishment

    if not user.is_authenticated or not need.accepts_responses:
        return []
    if not visible_needs(user).filter(pk=need.pk).exists():
        return []
    own = _user_establishment_ids(user) - {need.buyer_id}
    return list(Establishment.objects.filter(pk__in=own).order_by("name", "pk"))


def visible_responses(user) -> QuerySet:
    from maillage.marketplace.models import Need, Response

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
    from maillage.marketplace.models import Response

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
    if _is_chamber_staff(user) and _chamber_id_of(need.buyer) == user.chamber_id:
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
    from maillage.marketplace.models import Need

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
    from maillage.marketplace.models import SupplierProfile

    qs = SupplierProfile.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    own = _user_establishment_ids(user)
    return qs.filter(Q(is_active=True) | Q(establishment_id__in=own))


def can_edit_supplier_profile(user, establishment) -> bool:
    return can_edit_establishment(user, establishment)


# ---------------------------------------------------------------------------------------------
# Events, one-to-one meetings and networks' members' spaces (events app).
# ---------------------------------------------------------------------------------------------
"""Rules for events and networks:
- an event organised by a chamber is open to every signed-in user (an invitation); an event of a
  network is visible to the network's members (users of member establishments; for a federation,
  members of its clubs too), its animators and the staff of the network's chamber;
- organisers: staff of the event's chamber (or of the network's chamber) and the network's
  animators; they see registrations, answers and the schedule, and run the scheduler;
- a company user registers for one of their own establishments; participants see the meeting
  profile (establishment, offers, seeks) of the other confirmed participants of the same event,
  their own requests and their own agenda — never another participant's agenda or answers;
- a network's members' space (directory, news, documents, statistics) is for its members and
  animators only (and platform staff); statistics suppress groups under ``PUBLIC_MIN_GROUP``.
"""


def network_member_ids(user) -> set[int]:
    """Networks whose members' space this user may enter: member establishments' networks (and
    the federation of a member club), networks they animate."""
    from maillage.directory.models import Membership, Network

    if not user.is_authenticated:
        return set()
    if user.is_superuser:
        return set(Network.objects.values_list("pk", flat=True))
    ids = set(user.animated_networks.values_list("pk", flat=True))
    if user.role == User.Role.COMPANY:
        rows = Membership.objects.filter(establishment__users=user).values_list(
            "network_id", "network__federation_id"
        )
        for network_id, federation_id in rows:
            ids.add(network_id)
            if federation_id:
                ids.add(federation_id)
    return ids


def can_view_network_space(user, network) -> bool:
    return network.pk in network_member_ids(user)


def can_publish_in_network(user, network) -> bool:
    """Animators publish news and documents (and platform staff)."""
    if not user.is_authenticated:
        return False
    return user.is_superuser or network.animators.filter(pk=user.pk).exists()


def can_manage_network_members(user, network) -> bool:
    """Add and remove members, see members' contacts: the network's animators, the staff of the
    network's chamber, platform staff. Never a member company or another network's animator."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if _is_chamber_staff(user) and network.chamber_id == user.chamber_id:
        return True
    return network.animators.filter(pk=user.pk).exists()


def network_member_candidates(user, network) -> QuerySet:
    """Establishments a member manager may add (identity only: name, SIRET, commune, activity,
    public SIRENE data): active establishments of the network's chamber territory, or any active
    establishment for a network without a chamber."""
    from maillage.directory.models import Establishment

    if not can_manage_network_members(user, network):
        return Establishment.objects.none()
    qs = Establishment.objects.filter(is_active=True)
    if network.chamber_id:
        qs = qs.of_chambers({network.chamber_id})
    return qs


def visible_network_member_contacts(user, network) -> QuerySet:
    """Contacts of the network's member establishments (and of its clubs' for a federation), for
    member managers only: a member company sees the directory, not the people."""
    from maillage.directory.models import Contact

    if not can_manage_network_members(user, network):
        return Contact.objects.none()
    q = Q(establishment__memberships__network=network) | Q(
        establishment__memberships__network__federation=network
    )
    return Contact.objects.filter(q).distinct()


def visible_events(user) -> QuerySet:
    from maillage.events.models import Event

    qs = Event.objects.all()
    if not user.is_authenticated:
        return qs.none()
    if user.is_superuser:
        return qs
    networks = network_member_ids(user)
    q = Q(network__isnull=True) | Q(network_id__in=networks)
    if _is_chamber_staff(user):
        q |= Q(network__chamber_id=user.chamber_id)
    return qs.filter(q)


def can_organise_event(user, event) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    if _is_chamber_staff(user):
        if event.chamber_id == user.chamber_id:
            return True
        if event.network_id and event.network.chamber_id == user.chamber_id:
            return True
    return bool(event.network_id) and event.network.animators.filter(pk=user.pk).exists()


def organised_events(user) -> QuerySet:
    from maillage.events.models import Event

    if not user.is_authenticated:
        return Event.objects.none()
    if user.is_superuser:
        return Event.objects.all()
    q = Q(network__animators=user)
    if _is_chamber_staff(user):
        q |= Q(chamber_id=user.chamber_id) | Q(network__chamber_id=user.chamber_id)
    return Event.objects.filter(q).distinct()


def registrable_establishments(user, event) -> QuerySet:
    """The establishments a user may register for this event: their own (company users)."""
    from maillage.directory.models import Establishment

    if not user.is_authenticated or user.role != User.Role.COMPANY:
        return Establishment.objects.none()
    if not visible_events(user).filter(pk=event.pk).exists():
        return Establishment.objects.none()
    return Establishment.objects.filter(users=user).order_by("name", "pk")


def visible_participants(user, event) -> QuerySet:
    """Organisers see every registration; a confirmed participant sees the other confirmed
    participants (meeting profile only); others nobody."""
    from maillage.events.models import Registration

    qs = Registration.objects.filter(event=event)
    if can_organise_event(user, event):
        return qs
    if (
        user.is_authenticated
        and qs.filter(user=user, status=Registration.Status.CONFIRMED).exists()
    ):
        return qs.filter(status=Registration.Status.CONFIRMED)
    return qs.none()


def can_view_agenda(user, registration) -> bool:
    return user.is_authenticated and (
        registration.user_id == user.pk or can_organise_event(user, registration.event)
    )


# ---------------------------------------------------------------------------------------------
# Export advisors (CCE) and clusters (directory app).
# ---------------------------------------------------------------------------------------------
"""Rules for export support:
- the directory of export advisors and clusters is visible to every signed-in user, without the
  advisors' e-mail addresses;
- an SME's export project (target countries and sectors) and its matches are for whoever may edit
  the establishment (its users, advisors of its chamber);
- contact requests to advisors and clusters: see "Export contact requests" at the end.
"""


def can_view_export_directory(user) -> bool:
    return user.is_authenticated


def can_manage_export_project(user, establishment) -> bool:
    return can_edit_establishment(user, establishment)


def event_organiser_choices(user) -> tuple[QuerySet, QuerySet]:
    """Where a user may create an event: (chambers, networks). Chamber staff for their chamber
    and its networks; animators for the networks they animate."""
    from maillage.directory.models import Network

    if not user.is_authenticated:
        return Chamber.objects.none(), Network.objects.none()
    if user.is_superuser:
        return Chamber.objects.all(), Network.objects.all()
    chambers = Chamber.objects.none()
    q = Q(animators=user)
    if _is_chamber_staff(user):
        chambers = Chamber.objects.filter(pk=user.chamber_id)
        q |= Q(chamber_id=user.chamber_id)
    return chambers, Network.objects.filter(q).distinct()


# --- Exports (issue 5: data in and out) --------------------------------------------------------


def exportable_datasets(user) -> list[str]:
    """Which exports (CSV / XLSX, web, command line and API) a user may download. The rows in
    each come from the visible_* functions above, so an export never shows more than the pages:
    - platform staff and chamber staff: establishments, flows and suggestions (their chamber and
      the chambers bound to it by an agreement, flows only under the "flows" scope);
    - a company user: its own establishments and their flows;
    - anyone else (network animators, anonymous visitors): nothing.
    """
    if not user.is_authenticated:
        return []
    if user.is_superuser or _is_chamber_staff(user):
        return ["etablissements", "flux", "suggestions"]
    if user.role == User.Role.COMPANY:
        return ["etablissements", "flux"]
    return []


# ---------------------------------------------------------------------------------------------
# The network's map in its members' space (events app).
# ---------------------------------------------------------------------------------------------
"""Rules for the network's map:
- whoever may enter the network's members' space (its members, for a federation the members of
  its clubs too, its animators, platform staff) sees the network's member establishments on a
  map; nobody else (another network's member, another company, any chamber's advisor who does not
  animate it, an anonymous visitor);
- the map shows what the member directory already shows to members — identity (name, activity,
  commune) and position — never flows, quantities, contacts or SIRET
  (``NETWORK_MAP_FIELDS`` is the complete list of what leaves the database).
"""

NETWORK_MAP_FIELDS = ("pk", "name", "latitude", "longitude", "commune__name", "naf__label")


def can_view_network_map(user, network) -> bool:
    return can_view_network_space(user, network)


def visible_network_map_members(user, network) -> QuerySet:
    """Active member establishments of the network (and of its clubs) that have a position; none
    for someone outside the network."""
    from maillage.directory.models import Establishment

    if not can_view_network_map(user, network):
        return Establishment.objects.none()
    q = Q(memberships__network=network) | Q(memberships__network__federation=network)
    return Establishment.objects.filter(
        q, is_active=True, latitude__isnull=False, longitude__isnull=False
    ).distinct()


# ---------------------------------------------------------------------------------------------
# Export contact requests to export advisors and clusters (directory app, issue 7 part 4).
# ---------------------------------------------------------------------------------------------
"""Rules for export contact requests:
- an SME's request is made by whoever may manage its export project (its company users, the
  advisors of its chamber) and is seen by them and by its addressee: the export advisor's own
  account, or the contact users of the cluster (``Cluster.managers``) — never by another export
  advisor, another cluster's contacts, another company, another chamber's advisors or an
  anonymous visitor (platform staff see everything);
- only the addressee answers (accept or decline, with a message), once;
- contact details are exchanged only on acceptance: the SME's side then sees the advisor's (or
  the answering cluster contact's) e-mail and phone, the addressee sees the requester's name and
  e-mail and the establishment's address. A pending or declined request reveals neither;
- an export advisor edits their own directory entry (availability, countries, languages,
  sectors, phone); nobody else does, except platform staff in the back-office.
"""

EXPORT_CONTACT_ROLES = {User.Role.EXPORT_ADVISOR, User.Role.CLUSTER_MANAGER}


def export_requests_addressed_to(user) -> QuerySet:
    """The contact requests this user answers: to their export-advisor entry or to a cluster
    they are a contact of."""
    from maillage.directory.models import ExportContactRequest

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
    from maillage.directory.models import ExportContactRequest

    return contact_request.status == ExportContactRequest.Status.ACCEPTED and (
        can_view_export_request(user, contact_request)
    )


def can_request_export_contact(user, establishment) -> bool:
    return can_manage_export_project(user, establishment)


def can_edit_export_advisor(user, advisor) -> bool:
    return user.is_authenticated and (user.is_superuser or advisor.user_id == user.pk)


# == Marketplace (continued): hidden buyers, consortium suggestions, back-office ================
"""- A hidden buyer is revealed, beyond the buyer's own side, platform staff and the buyer's
  chamber staff, to the establishments whose response was shortlisted or retained, and, when that
  response was given by a group of co-contractors, to every member of the group — nobody else
  (not the other responders, not a group whose response was not shortlisted, not another company,
  another chamber's staff or an anonymous visitor). Pages, notifications, e-mails and the API all
  ask ``can_see_buyer``.
- Consortium suggestions (groups of suppliers the platform proposes for a need with lots) are
  the buyer's: they are seen, and their computation started, by whoever may edit the need.
- The back-office lists of the marketplace follow the same rules for non-superusers: needs of the
  buyers of their chamber (whose identity they see), responses they may read, supplier profiles
  of the directory.
"""


def buyer_revealed_establishment_ids(need) -> set[int]:
    """Establishments to which the need's hidden buyer is revealed through the responses: the
    supplier of each shortlisted or retained response and, for a group's response, every member
    of the group (the lead is a member too)."""
    from maillage.marketplace.models import Consortium, Response

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
    from maillage.marketplace.models import Need

    if user.is_authenticated and user.is_superuser:
        return Need.objects.all()
    if _is_chamber_staff(user):
        return Need.objects.filter(buyer__commune__territory__chamber_id=user.chamber_id)
    return Need.objects.none()


# Whom to meet at an event (events app).
# ---------------------------------------------------------------------------------------------
"""Rules for the « whom to meet » suggestions of a business-meeting event:
- they are shown to one confirmed participant only, about the other confirmed participants of the
  same event (whose names and meeting profiles that participant already sees), never to another
  event's participant, a company not registered, an advisor or an anonymous visitor;
- a stored synergy suggestion counts only when it is one of the participant's own opportunities
  (``suggestions_about``: a current, not abandoned substitution involving a flow of the
  establishment they registered) and its other side is another confirmed participant's
  establishment;
- and only with consent: telling a participant that a named participant is the other side of a
  detected synergy goes beyond the anonymised opportunities (identity is revealed after a mutually
  accepted introduction). So the synergy is used only when both registrations carry the consent
  (``Registration.synergy_consent_at``, given at registration or on the meeting profile), or when
  both sides already accepted the introduction for that suggestion (``introduction_is_mutual``).
  Otherwise it is ignored entirely: no effect on the ranking, no reason;
- the participant is told the resource class and who offers it only — never a quantity, a flow's
  details or a place.
"""


@dataclass(frozen=True)
class MeetingSynergy:
    """What a participant may be told of one synergy with another participant: with whom (their
    registration), which resource and which of the two offers it."""

    registration_id: int
    resource_label: str
    mine_offers: bool


def meeting_synergies(user, registration) -> list[MeetingSynergy]:
    """The synergies behind ``registration``'s « whom to meet » list (see above), best first."""
    from maillage.events.models import Registration
    from maillage.synergies.models import Introduction

    if not (user.is_authenticated and registration.user_id == user.pk):
        return []
    confirmed = Registration.Status.CONFIRMED
    # As stored now: the status or the consent may have changed since ``registration`` was read.
    me = (
        Registration.objects.filter(pk=registration.pk, user_id=user.pk, status=confirmed)
        .values("event_id", "establishment_id", "synergy_consent_at")
        .first()
    )
    if me is None:
        return []
    mine = me["establishment_id"]
    others = list(
        Registration.objects.filter(event_id=me["event_id"], status=confirmed)
        .exclude(establishment_id=mine)
        .order_by("pk")
        .values_list("pk", "establishment_id", "synergy_consent_at")
    )
    theirs = {establishment for _pk, establishment, _consent in others}
    links = list(
        suggestions_about(user)
        .filter(
            Q(offer_flow__establishment_id=mine, need_flow__establishment_id__in=theirs)
            | Q(need_flow__establishment_id=mine, offer_flow__establishment_id__in=theirs)
        )
        .order_by("-score", "pk")
        .values_list(
            "pk",
            "offer_flow__establishment_id",
            "need_flow__establishment_id",
            "resource_class__label",
        )
    )
    sides: dict[int, list] = {pk: [] for pk, *_rest in links}
    for side in (
        Introduction.objects.filter(suggestion_id__in=sides)
        .order_by("pk")
        .only("suggestion_id", "accepted_at", "declined_at")
    ):
        sides[side.suggestion_id].append(side)
    i_consent = me["synergy_consent_at"] is not None
    out = []
    for pk, offer_establishment, need_establishment, label in links:
        mine_offers = offer_establishment == mine
        other = need_establishment if mine_offers else offer_establishment
        mutual = introduction_is_mutual(sides[pk])
        out.extend(
            MeetingSynergy(reg_pk, label, mine_offers)
            for reg_pk, establishment, their_consent in others
            if establishment == other and (mutual or (i_consent and their_consent is not None))
        )
    return out


# Export contact requests (continued): withdrawal and the API (directory app, issue 7 part 4).
# ---------------------------------------------------------------------------------------------
"""- A pending request is withdrawn by the SME's side only: whoever may request a contact for its
  establishment (``can_request_export_contact``) — never the addressee, platform staff acting for
  the SME, or anyone else. Withdrawn or expired requests stay visible to both sides as before.
- The API lists the requests a user may see: those addressed to them (their inbox) and those of
  the establishments whose export project they manage; one request is shown to whoever passes
  ``can_view_export_request``, answered and withdrawn under the same rules as on the web.
"""


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
    from maillage.directory.models import ExportContactRequest

    if not user.is_authenticated:
        return ExportContactRequest.objects.none()
    if user.is_superuser:
        return ExportContactRequest.objects.all()
    own = Q(pk__in=export_requests_addressed_to(user).values("pk"))
    return ExportContactRequest.objects.filter(own | Q(establishment__in=_export_managed(user)))


def _export_managed(user) -> QuerySet:
    """Establishments whose export project the user manages, as ``can_manage_export_project``
    decides one by one (superusers are handled by the caller)."""
    from maillage.directory.models import Establishment

    if _is_chamber_staff(user):
        return Establishment.objects.of_chambers([user.chamber_id])
    if user.role == User.Role.COMPANY:
        return Establishment.objects.filter(users=user)
    return Establishment.objects.none()


# Personal data: export and erasure of a person's data (privacy app, issue 13 point 3).
# ---------------------------------------------------------------------------------------------
"""Rules for the rights of access and erasure (docs/privacy.md):
- a contact of an establishment is exported and erased by the chamber staff (advisors and
  administrators) who may edit that establishment — their own chamber's, not a partner's — and by
  platform staff; nobody else (not the company, another chamber, an anonymous visitor);
- a user exports their own data; another user's data is exported and erased by platform staff and
  by a chamber administrator for the users of their chamber (its staff, the company users of its
  establishments), never for platform staff or for themselves (their own page does that);
- a user asks for the erasure of their own account: company users, network animators, export
  advisors and cluster contacts erase it at once; chamber staff send the request to their
  chamber's administrators (the account is the chamber's work tool, whose records it must hand
  over first); platform staff are erased by another platform administrator.
"""


def can_manage_contacts_data(user, establishment) -> bool:
    """Export and erase the personal data of this establishment's contacts."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return _is_chamber_staff(user) and can_edit_establishment(user, establishment)


def can_manage_contact_data(user, contact) -> bool:
    return can_manage_contacts_data(user, contact.establishment)


def privacy_managed_users(user) -> QuerySet:
    """Users whose data ``user`` exports and erases (besides their own)."""
    if not user.is_authenticated:
        return User.objects.none()
    if user.is_superuser:
        return User.objects.exclude(pk=user.pk)
    if user.role == User.Role.CHAMBER_ADMIN and user.chamber_id:
        ids = visible_users(user).filter(is_superuser=False).exclude(pk=user.pk).values("pk")
        return User.objects.filter(pk__in=ids)
    return User.objects.none()


def can_manage_user_data(user, subject) -> bool:
    return privacy_managed_users(user).filter(pk=subject.pk).exists()


def erases_own_account_directly(user) -> bool:
    """Whether the user's own erasure request erases the account at once (see above)."""
    return (
        user.is_authenticated
        and not user.is_superuser
        and not user.is_staff
        and user.role not in CHAMBER_ROLES
    )


def can_request_own_erasure(user) -> bool:
    return user.is_authenticated and not user.is_superuser
