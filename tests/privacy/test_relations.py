"""Every relation pointing at a user or a contact is declared (exported, and erased or kept with
a reason): a model added later that points at a person fails here until it is declared."""

from __future__ import annotations

import pytest
from django.apps import apps

from maillage.accounts.models import User
from maillage.directory.models import Contact
from maillage.privacy import services
from maillage.privacy.relations import (
    CONTACT_RELATIONS,
    USER_RELATIONS,
    Erase,
    relation_keys,
    undeclared_relations,
)


def test_every_relation_to_a_user_is_declared():
    assert undeclared_relations(User, USER_RELATIONS) == set()


def test_every_relation_to_a_contact_is_declared():
    assert undeclared_relations(Contact, CONTACT_RELATIONS) == set()


def test_the_check_sees_hidden_and_many_to_many_relations():
    keys = relation_keys(User)
    # related_name="+" (hidden), a reverse many-to-many, a forward one, a one-to-one
    for key in (
        "accounts.AuditLog.user",
        "networks.Network.animators",
        "accounts.User.establishments",
        "directory.ExportAdvisor.user",
    ):
        assert key in keys


@pytest.mark.parametrize("relations,model", [(USER_RELATIONS, User), (CONTACT_RELATIONS, Contact)])
def test_no_declaration_is_stale(relations, model):
    """A declared relation exists (unless its app is optional and not installed)."""
    keys = relation_keys(model)
    installed = {app.label for app in apps.get_app_configs()}
    for relation in relations:
        if relation.optional and relation.key.split(".")[0] not in installed:
            continue
        assert relation.key in keys, relation.key


def test_each_relation_has_a_reason_and_anonymised_ones_an_anonymiser():
    for relation in USER_RELATIONS + CONTACT_RELATIONS:
        assert relation.reason and relation.label
        if relation.erase == Erase.ANONYMISE:
            assert relation.key in services.ANONYMISERS
    assert len({r.key for r in USER_RELATIONS}) == len(USER_RELATIONS)


def test_a_new_relation_would_be_reported():
    declared = tuple(r for r in USER_RELATIONS if r.key != "notifications.Notification.user")
    assert undeclared_relations(User, declared) == {"notifications.Notification.user"}
