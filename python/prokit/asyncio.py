"""prokit for asyncio: the same Window and Main, driven by the event loop
(as :mod:`zmq.asyncio` is for sockets).

    window = prokit.asyncio.Window("work")
    await window.join()
    reply = await window.request(prokit.MAIN, "hi", timeout=5000)

Handlers and listeners may be coroutine functions: a request whose handler
is one is answered when the coroutine returns (or fails when it raises).
Callbacks run on the loop's thread.
"""
from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable, List, Optional

from . import _api
from ._client import ETIMEDOUT, Client, PendingRequest, Request, _now_ms, error_from
from .errors import HandlerError, ProkitError

__all__ = ["Window", "Main"]


class _AsyncMixin:
    """Event-loop driving for Client subclasses."""

    _loop: Optional[asyncio.AbstractEventLoop] = None

    def _attach(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._kick_scheduled = False
        self._closed_future: asyncio.Future = self._loop.create_future()
        self._join_future: asyncio.Future = self._loop.create_future()
        self._tasks: set = set()
        self._fds: List[int] = [self._sock.FD, self._monitor.FD]  # type: ignore[attr-defined]
        if self._sub is not None:  # type: ignore[attr-defined]
            self._fds.append(self._sub.FD)  # type: ignore[attr-defined]
        for fd in self._fds:
            self._loop.add_reader(fd, self._readable)
        self._async_kick = self._kick  # type: ignore[attr-defined]
        self._kick()

    def _on_joined(self) -> None:
        # what came before the join completed is handed on at the next turn
        self._kick()

    def _sub_opened(self, sub) -> None:
        if self._loop is not None:
            self._fds.append(sub.FD)
            self._loop.add_reader(sub.FD, self._readable)
            self._kick()

    def _sub_closing(self, sub) -> None:
        if self._loop is not None and sub.FD in self._fds:
            self._fds.remove(sub.FD)
            self._loop.remove_reader(sub.FD)

    def _wake_at(self, deadline_ms: float) -> None:
        # the wait for what windows took in of ours ends then (_expire)
        if self._loop is not None:
            self._loop.call_later(max(0.0, (deadline_ms - _now_ms()) / 1000.0) + 0.001,
                                  self._readable)

    def _kick(self) -> None:
        # A zmq FD is edge-triggered and a send may consume the edge: look again soon.
        if not self._kick_scheduled and self._loop is not None:
            self._kick_scheduled = True
            self._loop.call_soon(self._readable)

    def _readable(self) -> None:
        self._kick_scheduled = False
        if self._state == "closed":  # type: ignore[attr-defined]
            return
        self._drain()  # type: ignore[attr-defined]
        self._expire()  # type: ignore[attr-defined]
        if not self._join_future.done():
            if self._hello_error is not None:  # type: ignore[attr-defined]
                self._join_future.set_exception(self._hello_error)  # type: ignore[attr-defined]
            elif self._state == "joined":  # type: ignore[attr-defined]
                self._join_future.set_result(True)
        if self._run_done() and not self._closed_future.done():  # type: ignore[attr-defined]
            self._closed_future.set_result(True)

    async def join(self) -> "_AsyncMixin":
        """Wait until joined (TimedOutError after join_timeout ms)."""
        if self._loop is None:
            self._attach()
        try:
            await asyncio.wait_for(asyncio.shield(self._join_future),
                                   self.join_timeout / 1000.0)  # type: ignore[attr-defined]
        except asyncio.TimeoutError:
            self.close(linger=0)  # type: ignore[attr-defined]
            raise error_from(ETIMEDOUT, "no WELCOME within the join timeout") from None
        except ProkitError:
            self.close(linger=0)  # type: ignore[attr-defined]
            raise
        return self

    async def __aenter__(self):
        await self.join()
        return self

    async def __aexit__(self, *exc) -> None:
        self.close()  # type: ignore[attr-defined]

    def _future_of(self, pending: PendingRequest) -> "asyncio.Future[Any]":
        future = self._loop.create_future()  # type: ignore[union-attr]

        def done(p: PendingRequest) -> None:
            if not future.done():
                if p.error is not None:
                    future.set_exception(p.error)
                else:
                    future.set_result(p.value)

        pending.on_done = done
        self._loop.call_later(max(0.0, (pending.deadline_ms - _now_ms()) / 1000.0) + 0.001,  # type: ignore[union-attr]
                              self._readable)
        if pending.done:
            done(pending)
        return future

    async def request(self, target: Optional[str] = None, payload: Any = None, *,  # type: ignore[override]
                      timeout: Optional[int] = None, channel: Optional[str] = None,
                      progress: Optional[Callable[[Any], Any]] = None) -> Any:
        """Ask TARGET and await the answer (see Window.request)."""
        pending = self.request_async(target, payload, timeout=timeout,  # type: ignore[attr-defined]
                                     channel=channel, progress=progress)
        try:
            return await self._future_of(pending)
        except asyncio.CancelledError:
            if not pending.done:
                pending.cancel()
            raise

    async def _query_async(self, what: str, timeout: Optional[int]) -> Any:
        from . import _wire as w
        from ._client import pack

        self._check_joined()  # type: ignore[attr-defined]
        msg_id = self._new_id()  # type: ignore[attr-defined]
        timeout = self.request_timeout if timeout is None else timeout  # type: ignore[attr-defined]
        pending = PendingRequest(self, msg_id, "", _now_ms() + timeout, None, None)  # type: ignore[arg-type]
        self._send(w.QUERY, msg_id, b"", pack({"what": what}))  # type: ignore[attr-defined]
        self._track(pending)  # type: ignore[attr-defined]
        return await self._future_of(pending)

    async def list_windows(self, timeout: Optional[int] = None) -> List[dict]:  # type: ignore[override]
        """The windows joined (QUERY "windows")."""
        return list(await self._query_async("windows", timeout))

    async def router_stats(self, timeout: Optional[int] = None) -> dict:  # type: ignore[override]
        """The router's counters (QUERY "stats")."""
        return dict(await self._query_async("stats", timeout))

    async def wait_closed(self) -> bool:
        """Wait until main closes the window or the handle is closed."""
        return await self._closed_future

    def _call_handler(self, handler: Callable[[Request], Any], request: Request) -> None:
        if not inspect.iscoroutinefunction(handler):
            Client._call_handler(self, handler, request)  # type: ignore[arg-type]
            return
        request.defer()

        async def serve() -> None:
            try:
                value = await handler(request)
            except ProkitError as e:
                if not request.answered:
                    request._client._answer(request, None, HandlerError(e.text, e.app_code))
                return
            except Exception as e:
                if not request.answered:
                    request._client._answer(request, None, HandlerError(f"{type(e).__name__}: {e}"))
                return
            if not request.answered:
                request.reply(value)

        task = self._loop.create_task(serve())  # type: ignore[union-attr]
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def close(self, linger: Optional[int] = None) -> None:
        if self._loop is not None and self._state != "closed":  # type: ignore[attr-defined]
            for fd in list(self._fds):
                self._loop.remove_reader(fd)
            self._fds = []
            if not self._closed_future.done():
                self._closed_future.set_result(False)
        Client.close(self, linger)  # type: ignore[arg-type]

    def run(self, timeout=None):  # type: ignore[override]
        raise RuntimeError("an asyncio handle runs on its loop: await wait_closed()")


def _wrap_listener(fn: Callable[..., Any]) -> Callable[..., Any]:
    if not inspect.iscoroutinefunction(fn):
        return fn

    def call(*args: Any) -> None:
        asyncio.get_running_loop().create_task(fn(*args))

    return call


class Window(_AsyncMixin, _api.Window):
    """:class:`prokit.Window` on asyncio: construct, then ``await join()``
    (or ``async with``)."""

    def __init__(self, name: Optional[str] = None, **kwargs: Any) -> None:
        _api.Window.__init__(self, name, _join=False, **kwargs)

    def on_main_message(self, fn):
        return _api.Window.on_main_message(self, _wrap_listener(fn))

    def on_window_message(self, fn):
        return _api.Window.on_window_message(self, _wrap_listener(fn))

    def on(self, channel, fn=None):
        if fn is None:
            return lambda f: self.on(channel, f)
        return _api.Window.on(self, channel, _wrap_listener(fn))


class Main(_AsyncMixin, _api.Main):
    """:class:`prokit.Main` on asyncio: construct, then ``await join()``."""

    def __init__(self, broker: Optional[str] = None, **kwargs: Any) -> None:
        _api.Main.__init__(self, broker, _join=False, **kwargs)
