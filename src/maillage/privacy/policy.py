"""Who exercises the rights of access and erasure (docs/privacy.md):
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

from __future__ import annotations

from django.db.models import QuerySet

from maillage.accounts.models import User
from maillage.accounts.policy import CHAMBER_ROLES, is_chamber_staff, visible_users
from maillage.directory import policy as directory_policy


def can_manage_contacts_data(user, establishment) -> bool:
    """Export and erase the personal data of this establishment's contacts."""
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    return is_chamber_staff(user) and directory_policy.can_edit_establishment(user, establishment)


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


def can_list_managed_users(user) -> bool:
    """The list of the users whose data one manages: platform staff and chamber administrators."""
    return user.is_authenticated and (user.is_superuser or user.role == User.Role.CHAMBER_ADMIN)


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
