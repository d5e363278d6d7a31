"""Who may see and change networks and their members' spaces (directory, news, documents,
statistics, map). Other apps ask these functions, never the networks' models.

- a network's members' space is for its members (users of member establishments; for a
  federation, members of its clubs too) and animators only (and platform staff); statistics
  suppress groups under ``PUBLIC_MIN_GROUP``;
- animators publish news and documents there (and platform staff);
- members are added and removed, and their contacts seen, by the network's animators, the staff
  of the network's chamber and platform staff — never by a member company or another network's
  animator; they add active establishments of the network's chamber territory (any active
  establishment for a network without a chamber), identity only;
- the network's map shows what the member directory already shows to members — identity (name,
  activity, commune) and position — never flows, quantities, contacts or SIRET
  (``NETWORK_MAP_FIELDS`` is the complete list of what leaves the database);
- the names of networks are not secret: any network may be chosen as a need's audience or a
  search filter (``listed_networks``); what a network holds is what the rules above guard.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from maillage.accounts.policy import Standing, standing
from maillage.directory.models import Contact, Establishment
from maillage.networks.models import Membership, Network


def listed_networks() -> QuerySet:
    """Every network by name, for choosing one (a need's audience, a search filter)."""
    return Network.objects.order_by("name", "pk")


def network_member_ids(user) -> set[int]:
    """Networks whose members' space this user may enter: member establishments' networks (and
    the federation of a member club), networks they animate."""
    match standing(user):
        case Standing.ANONYMOUS:
            return set()
        case Standing.PLATFORM:
            return set(Network.objects.values_list("pk", flat=True))
    ids = set(user.animated_networks.values_list("pk", flat=True))
    if standing(user) == Standing.COMPANY:
        rows = Membership.objects.filter(establishment__users=user).values_list(
            "network_id", "network__federation_id"
        )
        for network_id, federation_id in rows:
            ids.add(network_id)
            if federation_id:
                ids.add(federation_id)
    return ids


def visible_networks(user) -> QuerySet:
    """The networks whose members' space this user may enter (``network_member_ids``)."""
    return Network.objects.filter(pk__in=network_member_ids(user))


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
    match standing(user):
        case Standing.ANONYMOUS:
            return False
        case Standing.PLATFORM:
            return True
        case Standing.CHAMBER if network.chamber_id == user.chamber_id:
            return True
    return network.animators.filter(pk=user.pk).exists()


def managed_networks(user) -> QuerySet:
    """The networks ``can_manage_network_members`` lets this user manage, as a queryset: every
    network for platform staff, their chamber's for chamber staff, those they animate. The
    networks a user acts for (events ask it where a user may organise an event)."""
    match standing(user):
        case Standing.ANONYMOUS:
            return Network.objects.none()
        case Standing.PLATFORM:
            return Network.objects.all()
    q = Q(animators=user)
    if standing(user) == Standing.CHAMBER:
        q |= Q(chamber_id=user.chamber_id)
    return Network.objects.filter(q).distinct()


def network_member_candidates(user, network) -> QuerySet:
    """Establishments a member manager may add (identity only: name, SIRET, commune, activity,
    public SIRENE data): active establishments of the network's chamber territory, or any active
    establishment for a network without a chamber."""
    if not can_manage_network_members(user, network):
        return Establishment.objects.none()
    qs = Establishment.objects.filter(is_active=True)
    if network.chamber_id:
        qs = qs.of_chambers({network.chamber_id})
    return qs


def visible_network_member_contacts(user, network) -> QuerySet:
    """Contacts of the network's member establishments (and of its clubs' for a federation), for
    member managers only: a member company sees the directory, not the people."""
    if not can_manage_network_members(user, network):
        return Contact.objects.none()
    q = Q(establishment__memberships__network=network) | Q(
        establishment__memberships__network__federation=network
    )
    return Contact.objects.filter(q).distinct()


NETWORK_MAP_FIELDS = ("pk", "name", "latitude", "longitude", "commune__name", "naf__label")


def can_view_network_map(user, network) -> bool:
    return can_view_network_space(user, network)


def visible_network_map_members(user, network) -> QuerySet:
    """Active member establishments of the network (and of its clubs) that have a position; none
    for someone outside the network."""
    if not can_view_network_map(user, network):
        return Establishment.objects.none()
    q = Q(memberships__network=network) | Q(memberships__network__federation=network)
    return Establishment.objects.filter(
        q, is_active=True, latitude__isnull=False, longitude__isnull=False
    ).distinct()
