"""Back-office of networks: platform staff manage networks, their animators and memberships,
and the members' spaces' news and documents (animators publish from the members' space)."""

from django.contrib import admin

from maillage.networks.models import Membership, Network, NetworkDocument, NetworkPost


@admin.register(Network)
class NetworkAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "federation", "chamber"]
    list_select_related = ["federation", "chamber"]
    list_filter = ["kind"]
    filter_horizontal = ["animators"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["network", "establishment", "since"]
    list_select_related = ["network", "establishment"]
    raw_id_fields = ["establishment"]


@admin.register(NetworkPost)
class NetworkPostAdmin(admin.ModelAdmin):
    list_display = ["title", "network", "published_at"]
    list_select_related = ["network"]


@admin.register(NetworkDocument)
class NetworkDocumentAdmin(admin.ModelAdmin):
    list_display = ["title", "network", "uploaded_at"]
    list_select_related = ["network"]
