"""Thin views of networks' members' spaces: the list, a space (directory, news, documents,
statistics, map, events), the member managers' page. Each view says who may use it; the rules
themselves are in networks.policy."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from maillage.networks import policy, selectors, services
from maillage.networks.models import Network
from maillage.viewhelpers import flash_errors, int_or


@login_required
def network_list(request):
    """Who: members and animators see the networks they belong to or animate."""
    networks, managed = selectors.network_list(request.user)
    return render(request, "networks/network_list.html", {"networks": networks, "managed": managed})


def _network(request, pk: int) -> Network:
    network = get_object_or_404(Network, pk=pk)
    if not policy.can_view_network_space(request.user, network):
        raise Http404
    return network


@login_required
def network_space(request, pk: int):
    """Who: members and animators of the network (and platform staff)."""
    network = _network(request, pk)
    return render(
        request,
        "networks/network_space.html",
        {
            "network": network,
            "members": selectors.network_members(network)[:500],
            "posts": network.posts.select_related("author").order_by("-published_at", "-pk")[:20],
            "documents": network.documents.order_by("-uploaded_at", "-pk"),
            "stats": selectors.network_statistics(network),
            "can_publish": policy.can_publish_in_network(request.user, network),
            "can_manage": policy.can_manage_network_members(request.user, network),
            "map_config": {
                "layer": reverse("network-map", args=[network.pk]),
                "background": "/api/map/background",
                "tileUrl": settings.MAILLAGE_TILE_URL,
            },
            "events": selectors.space_events(network),
        },
    )


def network_map(request, pk: int):
    """The network's member establishments (GeoJSON: identity and position only). Who: members
    and animators of the network (and platform staff); anyone else, anonymous visitors included,
    gets 404 so that the network's existence is not confirmed."""
    network = get_object_or_404(Network, pk=pk)
    if not policy.can_view_network_map(request.user, network):
        raise Http404
    return JsonResponse(selectors.network_map_layer(request.user, network))


@login_required
@require_POST
def network_post(request, pk: int):
    """Who: animators (and platform staff)."""
    network = _network(request, pk)
    try:
        services.publish_post(
            request.user, network, request.POST.get("title", ""), request.POST.get("body", "")
        )
    except services.NetworkError as exc:
        flash_errors(request, exc)
    return redirect("network-space", pk=network.pk)


@login_required
@require_POST
def network_document(request, pk: int):
    """Who: animators (and platform staff)."""
    network = _network(request, pk)
    try:
        services.add_document(
            request.user, network, request.POST.get("title", ""), request.FILES.get("file")
        )
    except services.NetworkError as exc:
        flash_errors(request, exc)
    return redirect("network-space", pk=network.pk)


@login_required
def network_document_download(request, pk: int, doc_pk: int):
    """Who: members and animators; files are never served by URL without this check."""
    network = _network(request, pk)
    doc = get_object_or_404(network.documents, pk=doc_pk)
    return FileResponse(
        doc.file.open("rb"), as_attachment=True, filename=doc.file.name.split("/")[-1]
    )


def _managed_network(request, pk: int) -> Network:
    """The network whose members this user manages; others get 404 (members of the network who
    may enter its space get 403: they know it exists)."""
    network = get_object_or_404(Network, pk=pk)
    if not policy.can_manage_network_members(request.user, network):
        if policy.can_view_network_space(request.user, network):
            raise PermissionDenied
        raise Http404
    return network


@login_required
def network_members(request, pk: int):
    """Who: the network's animators, the staff of its chamber, platform staff: the member list
    with contacts, and a search (name or SIRET) of establishments to add."""
    network = _managed_network(request, pk)
    query = request.GET.get("q", "").replace("\x00", "").strip()
    searched = len(query) >= 2
    return render(
        request,
        "networks/network_members.html",
        {
            "network": network,
            "query": query,
            "results": selectors.member_search(request.user, network, query) if searched else [],
            "searched": searched,
            "members": selectors.members_with_contacts(request.user, network),
        },
    )


@login_required
@require_POST
def network_member_add(request, pk: int):
    """Who: as network_members."""
    network = _managed_network(request, pk)
    try:
        membership = services.add_network_member(
            request.user, network, int_or(request.POST.get("establishment"), 0)
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(
            request,
            _("%(name)s est maintenant membre du réseau.")
            % {"name": membership.establishment.name},
        )
    back = reverse("network-members", args=[network.pk])
    query = request.POST.get("q", "").strip()
    return redirect(f"{back}?{urlencode({'q': query})}" if query else back)


@login_required
@require_POST
def network_member_remove(request, pk: int, establishment_pk: int):
    """Who: as network_members."""
    network = _managed_network(request, pk)
    try:
        name = services.remove_network_member(request.user, network, establishment_pk)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, _("%(name)s ne fait plus partie du réseau.") % {"name": name})
    return redirect("network-members", pk=network.pk)
