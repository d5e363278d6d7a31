"""Writes of the networks app: memberships added and removed by member managers, news posts and
documents published in a members' space (the members are told). Every function that a user can
call with bad input raises ``NetworkError`` (a ``ValidationError``) with a French message."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from maillage.networks import policy
from maillage.networks.models import Membership, NetworkDocument, NetworkPost
from maillage.networks.notifications import NETWORK_NEWS
from maillage.networks.selectors import network_audience
from maillage.notifications import notify
from maillage.uploads import check_document


class NetworkError(ValidationError):
    """A user's action that cannot be done, with a message they can act on."""


# -- memberships ----------------------------------------------------------------------------------


def add_network_member(user, network, establishment_id: int) -> Membership:
    """Make an establishment a member of the network (today); refused to anyone who may not
    manage its members, and for an establishment outside what they may add."""
    if not policy.can_manage_network_members(user, network):
        raise PermissionDenied
    establishment = (
        policy.network_member_candidates(user, network).filter(pk=establishment_id).first()
    )
    if establishment is None:
        raise NetworkError(_("Établissement introuvable ou hors du territoire du réseau."))
    membership, created = Membership.objects.get_or_create(
        establishment=establishment,
        network=network,
        defaults={"since": timezone.localdate()},
    )
    if not created:
        raise NetworkError(_("%(name)s est déjà membre du réseau.") % {"name": establishment.name})
    return membership


def remove_network_member(user, network, establishment_id: int) -> str:
    """End an establishment's membership; returns its name for the confirmation message."""
    if not policy.can_manage_network_members(user, network):
        raise PermissionDenied
    membership = (
        Membership.objects.filter(network=network, establishment_id=establishment_id)
        .select_related("establishment")
        .first()
    )
    if membership is None:
        raise NetworkError(_("Cet établissement n'est pas membre du réseau."))
    name = membership.establishment.name
    membership.delete()
    return name


# -- the members' space: news and documents -------------------------------------------------------


def publish_post(user, network, title: str, body: str) -> NetworkPost:
    if not policy.can_publish_in_network(user, network):
        raise PermissionDenied
    if not title.strip() or not body.strip():
        raise NetworkError(_("Le titre et le texte sont obligatoires."))
    post = NetworkPost.objects.create(
        network=network, author=user, title=title.strip()[:200], body=body.strip()
    )
    _notify_network(network, user, _("Actualité de %(n)s : %(t)s"), post.title, post.body[:500])
    return post


def _notify_network(network, author, title: str, item: str, body: str) -> None:
    """Tell the network's members (and its animators), not the author, of a news post or
    document."""

    notify(
        network_audience(network).exclude(pk=author.pk),
        NETWORK_NEWS,
        title=(title % {"n": network.name, "t": item})[:255],
        body=body,
        url=reverse("network-space", args=[network.pk]),
    )


MAX_DOCUMENT_BYTES = 20 * 1024 * 1024


def add_document(user, network, title: str, upload) -> NetworkDocument:
    if not policy.can_publish_in_network(user, network):
        raise PermissionDenied
    if not title.strip() or upload is None:
        raise NetworkError(_("Le titre et le fichier sont obligatoires."))
    try:
        check_document(upload, MAX_DOCUMENT_BYTES)
    except ValidationError as exc:
        raise NetworkError(" ".join(exc.messages)) from exc
    document = NetworkDocument.objects.create(
        network=network, title=title.strip()[:200], file=upload, uploaded_by=user
    )
    _notify_network(network, user, _("Nouveau document dans %(n)s : %(t)s"), document.title, "")
    return document
