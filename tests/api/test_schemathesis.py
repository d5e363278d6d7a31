"""Property-based tests of the API against its own OpenAPI schema, with a logged-in token:
no server error, every response conforms to the schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from maillage.accounts.tokens import create_token
from maillage.config.wsgi import application
from maillage.synergies import services
from tests.flows.factories import wood_synergy

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)


@pytest.fixture
def keep_connection():
    """Like Django's test client: requests must not close the test's database connection."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(territory, keep_connection):
    wood_synergy(territory, offered=400, needed=500)
    services.detect()
    return create_token(territory["advisor77"], "schemathesis")


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(case, token):
    # A well-formed request may still be refused by a business rule (a pipeline transition that
    # is not allowed, answered 400 with a message): that check does not apply.
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        excluded_checks=[positive_data_acceptance],
    )
