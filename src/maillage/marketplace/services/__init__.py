"""Writes of the marketplace. Every function checks the policy first. One module per part of a
need's life: ``needs`` (drafts, lots, transitions, publication and matching, invitations),
``responses`` (answers, consortia, shortlist), ``closing`` (lot awards, closing, outcome, expiry
and reminders), ``profiles`` (supplier profiles and their search words), ``consortia`` (consortium
suggestions computed in the background). Callers use the names below: ``services.respond(…)``."""

from maillage.marketplace.services.closing import (
    REMINDER_DAYS,
    award_lot,
    close,
    close_expired_needs,
    notify_outcome,
)
from maillage.marketplace.services.consortia import (
    compute_consortium_suggestions,
    request_consortium_suggestions,
    wants_consortia,
)
from maillage.marketplace.services.needs import (
    ALLOWED_EXTENSIONS,
    MATCH_LIMIT,
    MAX_ATTACHMENT_BYTES,
    check_attachment,
    check_need,
    invite,
    mark_seen,
    match_and_notify,
    publish,
    save_need,
    transition,
)
from maillage.marketplace.services.profiles import (
    establishment_saved,
    profile_search_text,
    refresh_establishment_search_text,
    refresh_search_text,
    save_supplier_profile,
)
from maillage.marketplace.services.responses import (
    MAX_PARTNERS,
    consortium_partners,
    respond,
    shortlist,
)

__all__ = [
    "ALLOWED_EXTENSIONS",
    "MATCH_LIMIT",
    "MAX_ATTACHMENT_BYTES",
    "MAX_PARTNERS",
    "REMINDER_DAYS",
    "award_lot",
    "check_attachment",
    "check_need",
    "close",
    "close_expired_needs",
    "compute_consortium_suggestions",
    "consortium_partners",
    "establishment_saved",
    "invite",
    "mark_seen",
    "match_and_notify",
    "notify_outcome",
    "publish",
    "profile_search_text",
    "refresh_establishment_search_text",
    "refresh_search_text",
    "request_consortium_suggestions",
    "respond",
    "save_need",
    "save_supplier_profile",
    "shortlist",
    "transition",
    "wants_consortia",
]
