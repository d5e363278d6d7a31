"""The partner index server: one long-lived process holds the live index of each chamber scope
(not one copy per web worker), takes the flow deltas the web processes push, patches them in the
background and rebuilds each index from the database every ``MAILLAGE_PARTNER_INDEX_REFRESH``
seconds, swapping it in when ready.

Web processes talk to it over the Unix socket ``MAILLAGE_PARTNER_INDEX_SOCKET`` with
``multiprocessing.connection`` (the standard library's message framing over a socket, with an
HMAC challenge on a key derived from ``SECRET_KEY``; the socket file is readable by its owner
only). It answers for the scope it is asked about only, from that scope's index; identities are
filtered by the web process, with the user's rights, as before.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import os
import socket
import threading
import time
from multiprocessing.connection import Client, Connection, Listener

from django.conf import settings

from maillage.engine import incremental
from maillage.synergies import partner_index
from maillage.synergies.partner_index import ScopeKey

logger = logging.getLogger(__name__)


class Unavailable(Exception):
    """The server could not be reached or did not answer in time."""


def authkey() -> bytes:
    return hmac.new(
        settings.SECRET_KEY.encode(), b"maillage-partner-index", hashlib.sha256
    ).digest()


_local = threading.local()


def _connect() -> Connection:
    try:
        return Client(settings.MAILLAGE_PARTNER_INDEX_SOCKET, family="AF_UNIX", authkey=authkey())
    except (OSError, EOFError) as error:
        raise Unavailable(str(error)) from error


def request(message: tuple, timeout: float | None = None):
    """Send one message to the server and wait for its reply, on this thread's connection (kept
    open between requests: the HMAC challenge is done once; a broken one is made again once)."""
    timeout = settings.MAILLAGE_PARTNER_INDEX_TIMEOUT if timeout is None else timeout
    address = settings.MAILLAGE_PARTNER_INDEX_SOCKET
    for attempt in (0, 1):
        cached = getattr(_local, "conn", None)
        conn = cached[1] if cached is not None and cached[0] == address else None
        fresh = conn is None
        if conn is None:
            conn = _connect()
            _local.conn = (address, conn)
        try:
            conn.send(message)
            if not conn.poll(timeout):
                raise Unavailable(f"no answer in {timeout} s")
            reply = conn.recv()
            break
        except (OSError, EOFError, Unavailable) as error:
            _local.conn = None
            conn.close()
            if fresh or attempt or isinstance(error, Unavailable):
                raise Unavailable(str(error)) from error
    if reply[0] != "ok":
        raise Unavailable(str(reply[1]))
    return reply[1]


class Server:
    """The scopes' live indexes and what changes them. ``build`` makes the index of a scope (a
    database snapshot by default)."""

    def __init__(self, build=partner_index.build, refresh_s: float | None = None):
        self.build = build
        self.refresh_s = settings.MAILLAGE_PARTNER_INDEX_REFRESH if refresh_s is None else refresh_s
        self.scopes: dict[ScopeKey, incremental.LiveIndex] = {}
        self.built_at: dict[ScopeKey, float] = {}
        self._lock = threading.Lock()
        self._building: dict[ScopeKey, threading.Lock] = {}
        # deltas received while a scope is rebuilt, replayed on the new index before the swap
        self._journal: dict[ScopeKey, list] = {}
        self._work = threading.Event()
        self._stop = threading.Event()
        self._connections: set[Connection] = set()

    # ---- indexes ------------------------------------------------------------------------

    def live(self, key: ScopeKey) -> incremental.LiveIndex:
        """The scope's live index, built on first use (other scopes are served meanwhile)."""
        live = self.scopes.get(key)
        if live is not None:
            return live
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:
            if key not in self.scopes:
                self._rebuild(key)
            return self.scopes[key]

    def _rebuild(self, key: ScopeKey) -> None:
        with self._lock:
            self._journal[key] = []
        started = time.monotonic()
        live = self.build(key)
        with self._lock:
            journal = self._journal.pop(key)
            # replayed under the server's lock: no delta slips between the replay and the swap
            for flow_id, found in journal:
                partner_index.apply(live, key, flow_id, found)
            self.scopes[key] = live
            self.built_at[key] = time.monotonic()
        logger.info(
            "partner index of scope %s built in %.1f s (%d flows, %d deltas replayed)",
            _label(key),
            time.monotonic() - started,
            live.used_flows,
            len(journal),
        )

    def refresh_due(self) -> list[ScopeKey]:
        now = time.monotonic()
        return [
            key
            for key, live in list(self.scopes.items())
            if now - self.built_at[key] >= self.refresh_s
            or live.used_flows >= 0.9 * len(live.alive)
        ]

    # ---- messages -----------------------------------------------------------------------

    def handle(self, message: tuple) -> tuple:
        kind = message[0]
        if kind == "partners":
            _kind, key, found, k = message
            live = self.live(key)
            rows = partner_index.answer(live, key, found, k)
            if rows is None:  # no spare row left: rebuild now
                with self._building.setdefault(key, threading.Lock()):
                    self._rebuild(key)
                rows = partner_index.answer(self.scopes[key], key, found, k)
            self._work.set()
            return ("ok", rows)
        if kind == "delta":
            _kind, flow_id, found = message
            self.delta(flow_id, found)
            return ("ok", None)
        if kind == "ping":
            return ("ok", {_label(key): live.used_flows for key, live in self.scopes.items()})
        return ("error", f"unknown message {kind!r}")

    def delta(self, flow_id: int, found) -> None:
        """A flow written (``found``: ``partner_index.records``) or deleted (None): applied to
        every scope whose snapshot holds or would hold it."""
        with self._lock:
            for journal in self._journal.values():
                journal.append((flow_id, found))
            scopes = list(self.scopes.items())
        for key, live in scopes:
            try:
                partner_index.apply(live, key, flow_id, found)
            except incremental.IndexFull:
                self.built_at[key] = -float("inf")  # the background loop rebuilds it
        self._work.set()

    # ---- processes ----------------------------------------------------------------------

    def background(self) -> None:
        """Patches the need tables with the deltas between queries, and rebuilds the scopes that
        are due."""
        while not self._stop.is_set():
            self._work.wait(timeout=min(self.refresh_s, 30.0))
            self._work.clear()
            for live in list(self.scopes.values()):
                for c in live.pending:  # one class at a time: queries get in between
                    live.patch([c])
            for key in self.refresh_due():
                try:
                    with self._building.setdefault(key, threading.Lock()):
                        self._rebuild(key)
                except Exception:
                    # the old index keeps serving; the next round tries again
                    logger.exception("partner index of scope %s: rebuild failed", _label(key))
                    self.built_at[key] = time.monotonic()

    def _serve_connection(self, conn: Connection) -> None:
        with self._lock:
            self._connections.add(conn)
        with conn:
            try:
                while True:
                    message = conn.recv()
                    try:
                        reply = self.handle(message)
                    except Exception as error:
                        logger.exception("partner index server: %r failed", message[:1])
                        reply = ("error", str(error))
                    conn.send(reply)
            except (EOFError, OSError):
                return
            finally:
                with self._lock:
                    self._connections.discard(conn)

    def serve(self, address: str, ready: threading.Event | None = None) -> None:
        """Accept connections until ``stop``, one thread each."""
        if os.path.exists(address):
            os.unlink(address)
        old = os.umask(0o177)  # the socket: its owner only
        try:
            listener = Listener(address, family="AF_UNIX", authkey=authkey())
        finally:
            os.umask(old)
        threading.Thread(target=self.background, daemon=True, name="partner-index").start()
        if ready is not None:
            ready.set()
        with listener:
            while not self._stop.is_set():
                try:
                    conn = listener.accept()
                except (OSError, EOFError):  # a client that failed the challenge, or closing
                    if self._stop.is_set():
                        return
                    continue
                threading.Thread(target=self._serve_connection, args=(conn,), daemon=True).start()

    def stop(self, address: str) -> None:
        self._stop.set()
        self._work.set()
        with contextlib.suppress(OSError, EOFError):  # wake the accept() up
            Client(address, family="AF_UNIX", authkey=authkey()).close()
        # and the clients' open connections: their next request finds the server gone
        with self._lock:
            open_connections = list(self._connections)
        for conn in open_connections:
            with contextlib.suppress(OSError), socket.socket(fileno=os.dup(conn.fileno())) as s:
                s.shutdown(socket.SHUT_RDWR)


def _label(key: ScopeKey) -> str:
    return "all" if key is None else ",".join(str(c) for c in sorted(key))
