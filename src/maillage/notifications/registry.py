"""The kinds of notification users can receive, declared by the apps that send them: each app lists
its kinds in its own ``notifications.py`` and registers them from its ``AppConfig.ready()``. This
module imports no model, so an app can declare kinds while Django is still loading."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class Frequency(models.TextChoices):
    """How a user receives one kind by e-mail (in the app, always)."""

    IMMEDIATE = "immediate", _("immédiatement")
    DAILY = "daily", _("résumé quotidien")
    NEVER = "never", _("jamais")


@dataclass(frozen=True)
class Section:
    """A group of kinds on the preferences page; lower ``order`` first."""

    label: StrOrPromise
    order: int


@dataclass(frozen=True)
class Kind:
    code: str  # stored in Notification.kind and NotificationPreference.kind (30 characters)
    label: StrOrPromise
    section: Section
    default: str = Frequency.IMMEDIATE


REGISTRY: dict[str, Kind] = {}


def register(*kinds: Kind) -> None:
    """Add an app's kinds. Registering the same kind again is harmless (``ready()`` may run twice);
    two different kinds with one code are a programming error."""
    for kind in kinds:
        if len(kind.code) > 30:
            raise ImproperlyConfigured(f"notification kind code too long: {kind.code!r}")
        known = REGISTRY.get(kind.code)
        if known is not None and known != kind:
            raise ImproperlyConfigured(f"notification kind {kind.code!r} registered twice")
        REGISTRY[kind.code] = kind


def kinds() -> list[Kind]:
    """Every registered kind, by section order, then in the order the apps declared them."""
    order = {code: i for i, code in enumerate(REGISTRY)}
    return sorted(REGISTRY.values(), key=lambda k: (k.section.order, order[k.code]))


def get(code: str) -> Kind:
    try:
        return REGISTRY[code]
    except KeyError:
        raise ValueError(f"unknown notification kind {code!r}") from None


def subject_key(obj: models.Model) -> str:
    """The duplicate key of a notification about one object ("marketplace.need:12"): with it,
    ``notify`` tells each user at most once per (kind, object), whatever the calls."""
    return f"{obj._meta.label_lower}:{obj.pk}"
