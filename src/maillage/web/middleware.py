"""Deny by default, and anonymous visitors who follow a shared link to a page that needs an
account get the login page (with ``next``) instead of a 404."""

from __future__ import annotations

from django.contrib.auth.middleware import LoginRequiredMiddleware
from django.contrib.auth.views import redirect_to_login
from django.http import Http404

# Machine-readable endpoints keep their status codes: clients expect 404/401, not a login form.
NOT_PAGES = ("/api/", "/static/", "/media/")
NOT_PAGE_SUFFIXES = (".geojson", ".json")


class LoginForAnonymousNotFoundMiddleware:
    """A view raising Http404 for an anonymous visitor answers with a redirect to the login page.

    Views hide objects a user may not see behind 404 (never confirming that they exist); for an
    anonymous visitor every such page, existing or not, now leads to the same login redirect, so
    nothing leaks either. After signing in, a user without the right still gets the 404. URLs that
    match no route at all keep their 404 (the resolver fails before any view runs)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, Http404) or request.method not in ("GET", "HEAD"):
            return None
        user = getattr(request, "user", None)
        if user is None or user.is_authenticated:
            return None
        path = request.path
        if path.startswith(NOT_PAGES) or path.endswith(NOT_PAGE_SUFFIXES):
            return None
        return redirect_to_login(request.get_full_path())


class DenyByDefaultMiddleware(LoginRequiredMiddleware):
    """Django's LoginRequiredMiddleware: every view needs a signed-in user unless it is marked
    ``@login_not_required``. Machine-readable endpoints outside the API (GeoJSON, JSON) answer an
    anonymous client 404 rather than a login form, whatever the object: nothing is confirmed."""

    def handle_no_permission(self, request, view_func):
        if request.path.endswith(NOT_PAGE_SUFFIXES):
            raise Http404
        return super().handle_no_permission(request, view_func)
