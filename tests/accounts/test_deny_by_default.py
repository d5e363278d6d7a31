"""Deny by default: every view needs a signed-in user, unless it is in ``PUBLIC`` below.

A new view is protected by ``LoginRequiredMiddleware`` without anything to do; a view meant for
anonymous visitors must be marked ``@login_not_required`` *and* added here with the reason, so
that making a page public is a reviewed decision. The API authenticates each operation itself
(personal token or session) and answers 401 JSON: it is exempt as a whole."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

pytestmark = pytest.mark.django_db

# URL name → why anonymous visitors may open it.
PUBLIC = {
    "home": "public statistics of the platform",
    "map": "public choropleth (aggregates under statistical secrecy only)",
    "health": "asked by the supervisor, answers no personal data",
    "login": "signing in",
    "login-verify": "second step of signing in (the code), for the password just checked",
    "admin-login": "only redirects to the site's login",
    "admin:login": "Django's back-office login, shadowed by admin-login",
    "password_reset": "forgotten password",
    "password_reset_done": "forgotten password",
    "password_reset_confirm": "forgotten password (link of the e-mail)",
    "password_reset_complete": "forgotten password",
}


def walk(resolver=None, prefix="", namespace=""):
    """(route, namespace, url name, view) of every pattern, API and back-office included."""
    resolver = resolver or get_resolver()
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace or ""
            full_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from walk(p, prefix + str(p.pattern), full_ns)
        elif isinstance(p, URLPattern):
            name = f"{namespace}:{p.name}" if namespace and p.name else p.name
            yield prefix + str(p.pattern), namespace, name, p.callback


def is_public(view) -> bool:
    return not getattr(view, "login_required", True)


def test_the_middleware_denies_by_default():
    from django.contrib.auth.middleware import LoginRequiredMiddleware
    from django.utils.module_loading import import_string

    middleware = settings.MIDDLEWARE
    deny = [m for m in middleware if issubclass(import_string(m), LoginRequiredMiddleware)]
    assert len(deny) == 1
    assert middleware.index(deny[0]) > middleware.index(
        "django.contrib.auth.middleware.AuthenticationMiddleware"
    )


def test_every_view_is_protected_unless_declared_public():
    undeclared, seen = [], set()
    for route, namespace, name, view in walk():
        if namespace == "api":
            assert is_public(view), f"API operation {route} would redirect to the login page"
            continue
        if is_public(view):
            seen.add(name)
            if name not in PUBLIC:
                undeclared.append(f"/{route} ({name})")
    assert not undeclared, (
        "views open to anonymous visitors but not declared in PUBLIC: " + ", ".join(undeclared)
    )
    # The list stays true: every declared name is a public view of the resolver.
    assert seen == set(PUBLIC), sorted(set(PUBLIC) ^ seen)


def _url(route: str, name: str | None) -> str | None:
    if not name:
        return None
    kwargs = {}
    for part in route.split("<")[1:]:
        converter, _sep, rest = part.partition(":")
        kwarg = rest.split(">")[0] if rest else converter.split(">")[0]
        kwargs[kwarg] = 1 if converter == "int" else "x"
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:  # a regex route of the back-office that takes other arguments
        return None


def test_anonymous_visitors_are_sent_to_the_login_page_everywhere_else(client):
    requested = 0
    for route, namespace, name, view in walk():
        if namespace == "api" or is_public(view) or name in ("logout",):
            continue
        url = _url(route, name)
        if url is None:
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if url.endswith((".geojson", ".json")):  # for programs: 404, not a login form
                assert response.status_code == 404, (method, url, response.status_code)
                continue
            assert response.status_code == 302, (method, url, response.status_code)
            # The back-office's index sends to its own login address, which is the site's login
            # (see below).
            login = ("/comptes/login/?next=", "/admin/login/?next=")
            assert response["Location"].startswith(login if namespace == "admin" else login[0])
            requested += 1
    assert requested > 200  # the whole resolver, back-office included


def test_public_pages_answer_anonymous_visitors(client):
    for url in ("/", "/carte/", "/comptes/login/", "/comptes/password_reset/"):
        assert client.get(url).status_code == 200, url
    assert client.get("/sante/").status_code in (200, 503)
    # The back-office signs in through the site's login (and its second factor).
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/comptes/login/?next=/admin/"


def test_the_api_still_answers_401_json_without_credentials(client):
    for url in ("/api/establishments", "/api/map/establishments", "/api/suggestions"):
        response = client.get(url)
        assert response.status_code == 401, url
        assert response["Content-Type"].startswith("application/json")
    # The public map layers stay public.
    assert client.get("/api/map/choropleth").status_code == 200
