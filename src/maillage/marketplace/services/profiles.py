"""Supplier profiles and their search words (kept in step with the directory's establishments)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from maillage.engine import taxonomy
from maillage.marketplace import policy
from maillage.marketplace.models import SupplierProfile


def profile_search_text(profile: SupplierProfile) -> str:
    words = taxonomy.tokens(
        " ".join(
            [
                profile.establishment.name,
                profile.capabilities,
                profile.tags,
                profile.certifications,
                profile.references,
            ]
        )
    )
    return " " + " ".join(dict.fromkeys(words)) + " "


def refresh_search_text(profiles) -> int:
    """Recompute the stored search words of the given supplier profiles (a queryset or a list,
    their establishment loaded or not) after their establishment's name changed, and write the
    ones that differ in one bulk update. The PostgreSQL vector is kept by its own triggers.
    Returns how many profiles were rewritten."""
    if isinstance(profiles, QuerySet):
        profiles = (
            profiles.select_related("establishment")
            .order_by()
            .only(
                "search_text",
                "capabilities",
                "tags",
                "certifications",
                "references",
                "establishment__name",
            )
        )
    changed = []
    for profile in profiles:
        text = profile_search_text(profile)
        if text != profile.search_text:
            profile.search_text = text
            changed.append(profile)
    if changed:
        SupplierProfile.objects.bulk_update(changed, ["search_text"], batch_size=500)
    return len(changed)


def refresh_establishment_search_text(establishment) -> int:
    """After a save of the establishment: its supplier profile's search words (if it has one)."""
    profiles = list(
        SupplierProfile.objects.filter(establishment=establishment).only(
            "search_text", "capabilities", "tags", "certifications", "references", "establishment"
        )
    )
    for profile in profiles:
        profile.establishment = establishment
    return refresh_search_text(profiles)


def establishment_saved(sender, instance, created, raw=False, update_fields=None, **kwargs):
    """``post_save`` receiver of ``Establishment`` (connected in ``MarketplaceConfig.ready``): the
    sourcing directory's SQLite search words include the name (a new establishment has no
    supplier profile yet, fixtures are loaded as they are). Bulk writes call
    ``refresh_establishment_search_text`` themselves."""
    if created or raw:
        return
    if update_fields is None or "name" in update_fields:
        refresh_establishment_search_text(instance)


def save_supplier_profile(user, profile: SupplierProfile) -> SupplierProfile:
    if not policy.can_edit_supplier_profile(user, profile.establishment):
        raise PermissionDenied(_("Vous ne pouvez pas modifier le profil de cet établissement."))
    profile.search_text = profile_search_text(profile)
    profile.full_clean()
    profile.save()
    return profile
