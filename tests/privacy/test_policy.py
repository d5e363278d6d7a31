"""The privacy rules, role by role (``maillage.privacy.policy``): who exports and erases an
establishment's contacts, whose user data each role manages, and how one's own erasure request
is handled (docs/privacy.md).

The world: chambers 77 and 91 bound by a data-sharing agreement, 78 alone (``territory``), with
a contact in 77 and in 91, administrators of 77 and 78, an animator, an export advisor, a
platform administrator and a second one.
"""

from __future__ import annotations

import pytest

from maillage.accounts.models import User
from maillage.privacy import policy
from tests.directory.factories import ContactFactory
from tests.factories import UserFactory, build_territory
from tests.policy_rows import expand, territory_users, unknown_roles
from tests.worlds import built_once_per_module

pytestmark = pytest.mark.django_db

ROLES = {
    "anonymous",
    "platform",  # superuser
    "company77",  # company user of the contact's establishment
    "company78",  # company user of another establishment, another chamber
    "advisor77",  # staff of the establishment's chamber
    "admin77",
    "advisor91",  # advisor of a partner chamber (agreement with 77)
    "advisor78",  # staff of another chamber, no agreement
    "admin78",
    "animator",
    "export_advisor",
}


def build_world():
    t = build_territory()
    users = {
        **territory_users(t),
        "animator": UserFactory(role=User.Role.ANIMATOR),
        "export_advisor": UserFactory(role=User.Role.EXPORT_ADVISOR),
    }
    assert set(users) == ROLES
    objects = {
        "self": None,
        "e77": t["e77"],
        "e91": t["e91"],
        "contact77": ContactFactory(establishment=t["e77"]),
        "contact91": ContactFactory(establishment=t["e91"]),
        "platform2": UserFactory(role=User.Role.ADVISOR, is_superuser=True, is_staff=True),
        **{f"user:{role}": user for role, user in users.items() if role != "anonymous"},
    }
    return users, objects


module_world, world = built_once_per_module(build_world)


RULES = {
    "can_manage_contacts_data": policy.can_manage_contacts_data,
    "can_manage_contact_data": policy.can_manage_contact_data,
    "can_manage_user_data": policy.can_manage_user_data,
    "privacy_managed_users": lambda u, o: policy.privacy_managed_users(u).filter(pk=o.pk).exists(),
    "erases_own_account_directly": lambda u, o: policy.erases_own_account_directly(u),
    "can_request_own_erasure": lambda u, o: policy.can_request_own_erasure(u),
    "can_list_managed_users": lambda u, o: policy.can_list_managed_users(u),
}

STAFF77 = {"platform", "advisor77", "admin77"}
TABLE = [
    # Contacts: their establishment's own chamber staff and platform staff; not a partner
    # chamber, not the company, nobody else.
    ("can_manage_contacts_data", "e77", STAFF77),
    ("can_manage_contacts_data", "e91", {"platform", "advisor91"}),
    ("can_manage_contact_data", "contact77", STAFF77),
    ("can_manage_contact_data", "contact91", {"platform", "advisor91"}),
    # Users: platform staff; a chamber administrator for its chamber's staff and the company
    # users of its establishments; never for platform staff nor for themselves.
    ("can_manage_user_data", "user:company77", {"platform", "admin77"}),
    ("can_manage_user_data", "user:advisor77", {"platform", "admin77"}),
    ("can_manage_user_data", "user:admin77", {"platform"}),
    ("can_manage_user_data", "user:advisor91", {"platform"}),
    ("can_manage_user_data", "user:company78", {"platform", "admin78"}),
    ("can_manage_user_data", "user:advisor78", {"platform", "admin78"}),
    ("can_manage_user_data", "user:admin78", {"platform"}),
    ("can_manage_user_data", "user:animator", {"platform"}),
    ("can_manage_user_data", "user:export_advisor", {"platform"}),
    ("can_manage_user_data", "user:platform", set()),  # their own page does that
    ("can_manage_user_data", "platform2", {"platform"}),  # another platform administrator
    ("privacy_managed_users", "user:company77", {"platform", "admin77"}),
    ("privacy_managed_users", "user:admin77", {"platform"}),
    ("privacy_managed_users", "platform2", {"platform"}),
    # The list of those users: platform staff and chamber administrators only.
    ("can_list_managed_users", "self", {"platform", "admin77", "admin78"}),
    # One's own erasure: at once outside the chambers; chamber staff ask their administrators;
    # platform staff are erased by another platform administrator.
    (
        "erases_own_account_directly",
        "self",
        {"company77", "company78", "animator", "export_advisor"},
    ),
    ("can_request_own_erasure", "self", ROLES - {"anonymous", "platform"}),
]


def test_the_table_names_only_roles_of_the_world():
    assert unknown_roles(TABLE, ROLES) == set()


@pytest.mark.parametrize(("role", "rule", "obj", "expected"), expand(TABLE, ROLES))
def test_privacy_rule(world, role, rule, obj, expected):
    users, objects = world
    assert RULES[rule](users[role], objects[obj]) == expected
