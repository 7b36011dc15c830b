"""Wake-ups for the live streams, across processes: who has something new, never what.

A transaction that appends an event (`app.core.events.append_event`) marks the people and
couples it concerns on its session; once it commits, every broker of this process that
follows the same database publishes them on one channel, as a line of keys such as
`u:<user id> c:<couple id>` (ids only: the content stays in the database, behind the feed's
rules). Each process's broker listens on that channel and sets the wake flag of its open
streams whose person is named, directly or through one of their couples; a stream then
re-reads the feed after its cursor.

The transport is `broadcaster`: one interface for `memory://` (this process only, the
embedded SQLite default), `postgresql://` (LISTEN/NOTIFY on one connection of its own) and
`redis://` (pub/sub). Publishing happens on one task of the broker, after the commit, never
in the request: a failed publish is logged and the connection rebuilt, and the request it
followed has already succeeded. A wake lost that way (or to a broker restart) is caught by
the stream's own periodic re-read.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from broadcaster import Broadcast
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

logger = logging.getLogger("rapport.live")

CHANNEL = "rapport_live"
_PENDING = "rapport_live_wakes"
_KEYS_PER_MESSAGE = 100  # 3.9 kB: well under PostgreSQL's 8000-byte NOTIFY payload
RECONNECT_DELAY_SECONDS = 1.0
SUBSCRIBE_TIMEOUT_SECONDS = 5.0


def person_key(user_id: uuid.UUID) -> str:
    return f"u:{user_id}"


def couple_key(couple_id: uuid.UUID) -> str:
    return f"c:{couple_id}"


def mark(
    session: AsyncSession | Session, *, user_id: uuid.UUID | None, couple_id: uuid.UUID | None
) -> None:
    """Wake the streams of `user_id` and of `couple_id`'s members once this session commits."""
    keys: set[str] = session.info.setdefault(_PENDING, set())
    if user_id is not None:
        keys.add(person_key(user_id))
    if couple_id is not None:
        keys.add(couple_key(couple_id))


# This process's brokers, by the database whose commits they announce.
_brokers: weakref.WeakKeyDictionary[LiveBroker, str] = weakref.WeakKeyDictionary()


@event.listens_for(Session, "after_commit")
def _announce(session: Session) -> None:
    keys: set[str] | None = session.info.pop(_PENDING, None)
    if keys:
        committed(session.get_bind().engine.url, user_id=None, couple_id=None, keys=keys)


@functools.lru_cache(maxsize=16)
def _as_text(database_url: object) -> str:
    return str(database_url)  # a URL renders anew (its password masked) on every str()


def committed(
    database_url: object,
    *,
    user_id: uuid.UUID | None,
    couple_id: uuid.UUID | None,
    keys: Iterable[str] = (),
) -> None:
    """Wake the streams of `user_id`, of `couple_id`'s members (and of `keys`) now: for a
    change committed past a session (one statement in autocommit), as `mark` does at commit."""
    woken = set(keys)
    if user_id is not None:
        woken.add(person_key(user_id))
    if couple_id is not None:
        woken.add(couple_key(couple_id))
    url = _as_text(database_url)
    for broker, followed in list(_brokers.items()):
        if followed == url:
            broker.announce(woken)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


class Watch:
    """One stream's wake flag, and the keys (its person, their couples) that raise it."""

    def __init__(self, broker: LiveBroker, user_id: uuid.UUID) -> None:
        self.broker = broker
        self.woken = asyncio.Event()
        self.keys: frozenset[str] = frozenset()
        self.follow(user_id, ())

    def follow(self, user_id: uuid.UUID, couple_ids: Iterable[uuid.UUID]) -> None:
        keys = frozenset({person_key(user_id), *(couple_key(c) for c in couple_ids)})
        if keys != self.keys:
            self.broker._unwatch(self)
            self.keys = keys
            self.broker._watch(self)


class LiveBroker:
    """This process's end of the wake-up channel: publishes commits, wakes local streams."""

    def __init__(self, url: str, *, database_url: str, listen: bool = True) -> None:
        self.url = url
        self.database_url = database_url
        self.listen = listen
        self._broadcast: Broadcast | None = None
        self._outbox: asyncio.Queue[frozenset[str]] = asyncio.Queue()
        self._watches: dict[str, set[Watch]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribed = asyncio.Event()
        self.closing = asyncio.Event()
        """Set when the server is asked to stop: open streams end, so that it can."""

    @property
    def scheme(self) -> str:
        return self.url.partition(":")[0]

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._connect()
        if self._broadcast is not None and self.listen:
            # Listening before the server answers: a stream opened at once misses nothing.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._subscribed.wait(), SUBSCRIBE_TIMEOUT_SECONDS)
        self._tasks.append(asyncio.create_task(self._publish_forever(), name="live-publish"))
        _brokers[self] = self.database_url

    async def stop(self) -> None:
        _brokers.pop(self, None)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self._disconnect()

    async def wait_subscribed(self) -> None:
        """Until the listener is subscribed (tests; a stream never needs to wait)."""
        await self._subscribed.wait()

    # Publishing --------------------------------------------------------------------------

    def announce(self, keys: Iterable[str]) -> None:
        """Queue a wake for `keys`; callable from any thread, never raises."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._outbox.put_nowait, frozenset(keys))

    async def _publish_forever(self) -> None:
        while True:
            keys = set(await self._outbox.get())
            while not self._outbox.empty():  # everything that committed meanwhile, at once
                keys |= self._outbox.get_nowait()
            ordered = sorted(keys)
            for start in range(0, len(ordered), _KEYS_PER_MESSAGE):
                await self._publish(" ".join(ordered[start : start + _KEYS_PER_MESSAGE]))

    async def _publish(self, message: str) -> None:
        try:
            if self._broadcast is None:
                raise ConnectionError("not connected")
            await self._broadcast.publish(CHANNEL, message)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("live wake-up not published; reconnecting", exc_info=True)
            await asyncio.sleep(RECONNECT_DELAY_SECONDS)
            await self._reconnect()

    # Connection --------------------------------------------------------------------------

    async def _connect(self) -> None:
        broadcast = Broadcast(self.url)
        try:
            await broadcast.connect()
        except Exception:
            logger.warning(
                "live broker %s unreachable; streams re-read on heartbeats",
                self.scheme,
                exc_info=True,
            )
            return
        self._broadcast = broadcast
        if self.listen:
            self._tasks.append(asyncio.create_task(self._listen(broadcast), name="live-listen"))

    async def _disconnect(self) -> None:
        broadcast, self._broadcast = self._broadcast, None
        self._subscribed.clear()
        if broadcast is not None:
            with contextlib.suppress(Exception):
                await broadcast.disconnect()

    async def _reconnect(self) -> None:
        listeners = [task for task in self._tasks if task.get_name() == "live-listen"]
        for task in listeners:
            task.cancel()
            self._tasks.remove(task)
        await self._disconnect()
        await self._connect()

    async def _listen(self, broadcast: Broadcast) -> None:
        try:
            async with broadcast.subscribe(CHANNEL) as subscriber:
                self._subscribed.set()
                async for received in subscriber:  # type: ignore[union-attr]
                    if received is not None:
                        self._wake(received.message)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("live wake-up listener stopped", exc_info=True)

    # Local streams -----------------------------------------------------------------------

    def _watch(self, watch: Watch) -> None:
        for key in watch.keys:
            self._watches.setdefault(key, set()).add(watch)

    def _unwatch(self, watch: Watch) -> None:
        for key in watch.keys:
            watching = self._watches.get(key)
            if watching is not None:
                watching.discard(watch)
                if not watching:
                    del self._watches[key]

    def _wake(self, message: Any) -> None:
        for key in str(message).split():
            for watch in self._watches.get(key, ()):
                watch.woken.set()

    @contextlib.contextmanager
    def watching(self, user_id: uuid.UUID) -> Iterator[Watch]:
        """A wake flag for one stream of `user_id`, for as long as the stream lasts."""
        watch = Watch(self, user_id)
        try:
            yield watch
        finally:
            self._unwatch(watch)


_STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def end_streams_on_exit(broker: LiveBroker) -> Callable[[], None]:
    """Let a stopping signal end this process's streams, and return what undoes it.

    The server (uvicorn) waits for open requests before it stops, and a stream would never
    end by itself: its handler of SIGTERM and SIGINT, installed before the app starts, is
    kept and called, after telling the streams to close (clients reconnect elsewhere with
    `Last-Event-ID`, losing nothing)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    chained: dict[int, Callable[..., Any]] = {}

    def stopping(signum: int, frame: Any) -> None:
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(broker.closing.set)
        chained[signum](signum, frame)

    for stop in _STOPPING_SIGNALS:
        previous = signal.getsignal(stop)
        if callable(previous):
            chained[stop] = previous
            signal.signal(stop, stopping)

    def restore() -> None:
        for stop, previous in chained.items():
            if signal.getsignal(stop) is stopping:
                signal.signal(stop, previous)

    return restore
