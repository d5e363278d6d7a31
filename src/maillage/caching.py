"""Cached reads (map layers, suggestion lists) that are never stale and never cross a visibility
scope: every entry's key holds the reader's scope (``accounts.policy.visibility_scope``), the
request's parameters and the current *generation* of each topic the entry was built from.

A write to a model of a topic (an instance saved or deleted, a queryset updated, deleted or
bulk-written through ``InvalidatingQuerySet``) gives the topic a new random generation, at once
and, inside a transaction, again once it commits (one commit callback per topic and transaction,
however many rows it writes): every entry built before is then out of reach (and expires after
``TIMEOUT``). A reader takes the generations *before* reading the database, so an entry built from
data read before a commit is stored under the generations of before that commit.

The cache must be shared by every process of the service (gunicorn workers, task workers): see
``CACHES`` in the settings (Redis or a folder on disk; per-process memory only in tests).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.db import connection, models, transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import translation

# What an entry may be built from. DIRECTORY: establishments, their territories (chambers),
# memberships, company users' establishments, agreements between chambers, flows. SYNERGIES:
# suggestions and their status history. ACTIVITY: advisors' visits. An entry names every topic it
# reads.
DIRECTORY = "directory"
SYNERGIES = "synergies"
ACTIVITY = "activity"
TOPICS = (DIRECTORY, SYNERGIES, ACTIVITY)

# A bound on the life of an entry whatever happens (memory; a write made outside Django).
TIMEOUT = 600


def _generation_key(topic: str) -> str:
    return f"maillage:generation:{topic}"


def generations(topics: Iterable[str]) -> tuple[str, ...]:
    """The current generation of each topic (a new one for a topic the cache lost)."""
    keys = [_generation_key(t) for t in topics]
    found = cache.get_many(keys)
    for key in keys:
        if key not in found:
            cache.add(key, secrets.token_hex(8), None)
            found[key] = cache.get(key) or secrets.token_hex(8)
    return tuple(found[k] for k in keys)


def _renew(topics: Iterable[str]) -> None:
    cache.set_many({_generation_key(t): secrets.token_hex(8) for t in topics}, None)


def _pending_topics() -> set[str]:
    """The topics the current transaction already renews at commit (Django keeps its commit
    callbacks as ``(savepoint ids, callback, robust)``)."""
    return {
        topic
        for entry in connection.run_on_commit
        if (topic := getattr(entry[1], "maillage_topic", None))
    }


def bump(*topics: str) -> None:
    """Make every entry built from these topics unreachable: now (a reader of this same
    transaction, or a test) and, inside a transaction, when it commits (readers of other
    connections, who saw the old rows until then).

    A transaction that writes many rows registers one commit callback per topic, not one per
    row. The check reads Django's own list of callbacks, so a callback discarded with a rolled
    back savepoint is registered again by the next write."""
    topics = topics or TOPICS
    _renew(topics)
    if not connection.in_atomic_block:
        return
    pending = _pending_topics()
    for topic in topics:
        if topic in pending:
            continue
        callback = functools.partial(_renew, (topic,))
        callback.maillage_topic = topic  # type: ignore[attr-defined]
        transaction.on_commit(callback)


def get_or_build(name: str, parts: tuple, topics: tuple[str, ...], build: Callable[[], object]):
    """The entry ``name`` for ``parts`` (scope and parameters, as values with a stable ``repr``)
    built from ``topics``, in the active language: from the cache, or built by ``build()`` and
    stored."""
    gens = generations(topics)
    # Entries hold translated labels: one per language.
    key_parts = (parts, translation.get_language(), topics, gens)
    digest = hashlib.sha256(repr(key_parts).encode()).hexdigest()[:32]
    key = f"maillage:{name}:{digest}"
    value = cache.get(key)
    if value is None:
        value = build()
        cache.set(key, value, TIMEOUT)
    return value


class InvalidatingQuerySet(models.QuerySet):
    """A queryset whose writes that send no per-row signal (``update``, ``delete``,
    ``bulk_create``, ``bulk_update``) renew the generation of ``cache_topics``, after the write
    (a reader between a renewal and the write would store the old rows under the new
    generation)."""

    cache_topics: tuple[str, ...] = ()

    def update(self, **kwargs):
        result = super().update(**kwargs)
        bump(*self.cache_topics)
        return result

    def delete(self):
        result = super().delete()
        bump(*self.cache_topics)
        return result

    def bulk_create(self, objs, *args, **kwargs):
        result = super().bulk_create(objs, *args, **kwargs)
        bump(*self.cache_topics)
        return result

    def bulk_update(self, objs, fields, *args, **kwargs):
        result = super().bulk_update(objs, fields, *args, **kwargs)
        bump(*self.cache_topics)
        return result


def watch(model, *topics: str) -> None:
    """Renew ``topics`` whenever an instance of ``model`` is saved or deleted (many-to-many
    changes too when ``model`` is a through table)."""

    def changed(sender, **kwargs):
        bump(*topics)

    uid = f"maillage-caching-{model._meta.label}"
    post_save.connect(changed, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(changed, sender=model, weak=False, dispatch_uid=uid)
    if model._meta.auto_created:
        m2m_changed.connect(changed, sender=model, weak=False, dispatch_uid=uid)
