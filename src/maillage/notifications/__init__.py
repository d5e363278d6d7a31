"""The one notification system of Maillage: each app declares its kinds in its own
``notifications.py`` (``registry.register`` from its ``AppConfig.ready()``) and sends them with
``notify``; users choose per kind how they receive them by e-mail. See docs/architecture.md.

``from maillage.notifications import notify`` is the public way in. The package's own import does
not load the models (Django imports it while loading the apps), so these names are resolved on
first use."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from maillage.notifications.services import notify, send_digests

__all__ = ["notify", "send_digests"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module("maillage.notifications.services"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
