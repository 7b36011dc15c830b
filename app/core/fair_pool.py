"""SQLAlchemy's asyncio pool, handing connections out in the order they were asked for.

`AsyncAdaptedQueuePool` keeps its idle connections in an `asyncio.Queue`, which is not fair:
a returned connection wakes the oldest waiter, but a request arriving before that waiter runs
takes the connection, and the waiter, finding the queue empty, queues again at the back. On a
busy process (more requests in flight than connections) a few requests wait behind hundreds
of newer ones: seconds at the 99th percentile, while the median is a few tens of
milliseconds. Here a returned connection goes straight to the oldest waiter, and nobody takes
an idle connection while others wait. Everything else (overflow, timeouts, disposal, events)
is the pool's own.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from sqlalchemy.pool import AsyncAdaptedQueuePool
from sqlalchemy.util import await_only
from sqlalchemy.util.queue import AsyncAdaptedQueue, Empty


class FairQueue(AsyncAdaptedQueue[Any]):
    """Idle connections, and the requests waiting for one, first come first served."""

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        super().__init__(maxsize, use_lifo)
        self._waiters: deque[asyncio.Future[Any]] = deque()

    def put_nowait(self, item: Any) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(item)
                return
        super().put_nowait(item)

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        self.put_nowait(item)  # the pool never has more connections than its queue holds

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        # Without `block` (the pool may open another connection, or is being disposed) an
        # idle one is taken as before; with it, only when nobody waits.
        if not (block and self._someone_waits()) and not self.empty():
            return self.get_nowait()
        if not block:
            raise Empty()
        return await_only(self._wait(timeout))

    def waiting(self) -> int:
        """How many wait for a connection now."""
        return sum(1 for waiter in self._waiters if not waiter.done())

    def _someone_waits(self) -> bool:
        while self._waiters and self._waiters[0].done():  # timed out, or cancelled
            self._waiters.popleft()
        return bool(self._waiters)

    async def _wait(self, seconds: float | None) -> Any:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Any] = loop.create_future()
        self._waiters.append(waiter)
        timer = None if seconds is None else loop.call_later(seconds, _time_out, waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            # Cancelled after a connection was handed over: hand it to the next in line.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.put_nowait(waiter.result())
            raise
        finally:
            if timer is not None:
                timer.cancel()


def _time_out(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(Empty())  # the pool turns it into its TimeoutError


class FairAsyncPool(AsyncAdaptedQueuePool):
    """`AsyncAdaptedQueuePool` with a `FairQueue`."""

    _queue_class = FairQueue
