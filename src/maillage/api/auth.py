"""API authentication: personal bearer tokens, or the browser session (for /api/docs)."""

from __future__ import annotations

from ninja.security import HttpBearer, SessionAuth

from maillage.accounts.tokens import user_for


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        user = user_for(token)
        if user is not None:
            request.user = user
        return user


AUTH = [TokenAuth(), SessionAuth()]
