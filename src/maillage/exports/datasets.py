"""The registry of data exports: each app declares the datasets it owns in its own
``exports.py`` (``register("flux", Dataset(...))``), found when the app registry is ready
(``ExportsConfig.ready``). A dataset says who may download it (a rule of the owning app's
policy) and yields rows already filtered by that app's ``visible_*`` querysets, so that an export
never shows more than the pages do."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Column:
    header: Any  # lazy translation
    value: Callable[[Any], Any]


@dataclass(frozen=True)
class Dataset:
    label: Any  # lazy translation
    headers: list  # lazy translations
    rows: Callable[[Any], Iterator[list]]  # user → rows (already filtered by the policy)
    count: Callable[[Any], int]
    allowed: Callable[[Any], bool]  # user → may they download it (the owning app's policy)


# name (as in the URLs, the API and the command line) → dataset, in the order registered
DATASETS: dict[str, Dataset] = {}


def register(name: str, dataset: Dataset) -> None:
    if name in DATASETS:
        raise ImproperlyConfigured(f"Export « {name} » registered twice.")
    DATASETS[name] = dataset


def exportable_datasets(user) -> list[str]:
    """The datasets this user may download, as each owning app's policy decides."""
    return [name for name, dataset in DATASETS.items() if dataset.allowed(user)]


def dataset_for(user, name: str) -> Dataset:
    """The dataset, if the policy lets this user export it (PermissionDenied otherwise)."""
    dataset = DATASETS.get(name)
    if dataset is None or not dataset.allowed(user):
        raise PermissionDenied(_("Vous n'avez pas accès à cet export."))
    return dataset


def headers(dataset: Dataset) -> list[str]:
    return [str(h) for h in dataset.headers]
