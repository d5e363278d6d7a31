"""Fixtures of the networks tests: the events tests' world (an event of chamber 77, company
users), for the pages where a network's animator organises an event."""

from tests.events.conftest import immediate_tasks, world  # noqa: F401 (fixtures)
