"""Suggestion cards (list, board, establishment page) rendered once per visibility scope and page,
then served from the cache (maillage.caching) until a suggestion, flow or establishment changes.
A card shows only what ``selectors.rows_for_page`` lets the reader see."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from maillage import caching
from maillage.accounts import policy as accounts_policy
from maillage.synergies import selectors

TEMPLATES = {
    "card": "synergies/_suggestion_cards.html",
    "mini": "synergies/_suggestion_minis.html",
}


def cards_html(user, pks, style: str = "card") -> SafeString:
    """The rendered cards of these suggestions (keys obtained through the policy), in order;
    empty for no key."""
    pks = tuple(pks)
    if not pks:
        return mark_safe("")

    def build() -> str:
        rows = selectors.rows_for_page(user, selectors.with_details(pks))
        return render_to_string(TEMPLATES[style], {"rows": rows})

    html = caching.get_or_build(
        f"suggestion-{style}s",
        (accounts_policy.visibility_scope(user), pks),
        (caching.DIRECTORY, caching.SYNERGIES),
        build,
    )
    # Rendered by our own templates, with autoescape on: safe to insert as it is.
    return mark_safe(html)  # noqa: S308
