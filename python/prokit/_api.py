"""Window and Main: the two roles, on the client of _client.py."""
from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, Optional

import zmq

from . import _client
from . import _wire as w
from ._account import Account
from ._client import (
    JOIN_TIMEOUT_MS, MAIN, REQUEST_TIMEOUT_MS, Client, Message, Request, _check_channel,
    _now_ms, _setting, error_from, pack, resolve_endpoint, unpack, valid_name,
)
from .errors import ECLOSED, EINVAL, ProkitError

MessageFn = Callable[[Message], Any]
RequestFn = Callable[[Request], Any]
PresenceFn = Callable[[str, bool, Dict[str, Any]], Any]
UndeliveredFn = Callable[[str, ProkitError], Any]
ConnectionFn = Callable[[bool, Optional[ProkitError]], Any]


class _Listeners:
    """on/off helpers shared by Window and Main."""

    def on_request(self, fn: Optional[RequestFn]) -> Optional[RequestFn]:
        """Set the handler for requests on the default channel (None removes
        it). It gets a :class:`Request`; its return value is the reply; it may
        raise :class:`HandlerError`. Usable as a decorator."""
        self._set_handler(None, fn)  # type: ignore[attr-defined]
        return fn

    def handle(self, channel: str, fn: Optional[RequestFn] = None):
        """Set the handler for requests on CHANNEL (``ipcMain.handle``); as a
        decorator: ``@window.handle("resize")``."""
        if fn is None:
            return lambda f: self.handle(channel, f)
        self._set_handler(channel, fn)  # type: ignore[attr-defined]
        return fn

    def on_undelivered(self, fn: Optional[UndeliveredFn]) -> Optional[UndeliveredFn]:
        """Set the callback for one-way messages that were not delivered:
        ``fn(target, error)`` (target "" for a broadcast refused whole)."""
        self._on_undelivered = fn  # type: ignore[attr-defined]
        return fn

    def on_connection(self, fn: Optional[ConnectionFn]) -> Optional[ConnectionFn]:
        """Set the callback for connection changes: ``fn(False, error)`` when
        the session is lost, ``fn(True, None)`` when it has joined again."""
        self._on_connection = fn  # type: ignore[attr-defined]
        return fn

    def on_presence(self, fn: Optional[PresenceFn]) -> Optional[PresenceFn]:
        """Set the callback for windows joining and leaving:
        ``fn(name, joined, info)`` (info: JOINED's or LEFT's map)."""
        self._on_presence = fn  # type: ignore[attr-defined]
        return fn


class Window(_Listeners, Client):
    """A window (a render process): ``prokit_window_t``.

    ``Window("work")`` connects to main (the endpoint as the C library
    resolves it: ENDPOINT, ``$PROKIT_ENDPOINT``, else the app's ipc path),
    joins as "work" and returns once joined (:class:`TimedOutError` after
    JOIN_TIMEOUT ms, :class:`ExistsError` if the name is taken,
    :class:`AccessError` if the broker's access list refuses it). NAME
    defaults to ``$PROKIT_WINDOW_NAME``, SERVICE (a pool to serve) to
    ``$PROKIT_WINDOW_SERVICE``, the CURVE settings to ``$PROKIT_CURVE_CERT``
    and ``$PROKIT_CURVE_SERVER_KEY``: so a program that main starts with
    createWindow joins with no configuration. Timeouts are in ms.
    """

    #: The HELLO says "batch": the router may send main's messages to it
    #: several in a BATCH. (False: one by one, as to an older client; the
    #: tests compare the two.)
    _reads_batch = True

    def __init__(self, name: Optional[str] = None, *, endpoint: Optional[str] = None,
                 app_name: Optional[str] = None, presence: bool = False,
                 service: Optional[str] = None, shown: Optional[bool] = None,
                 join_timeout: int = JOIN_TIMEOUT_MS, request_timeout: int = REQUEST_TIMEOUT_MS,
                 curve_cert: Optional[str] = None, curve_server_key: Optional[str] = None,
                 context: Optional[zmq.Context] = None, _join: bool = True) -> None:
        name = name or os.environ.get("PROKIT_WINDOW_NAME")
        if not name or not valid_name(name):
            raise error_from(EINVAL, f"{name!r} is not a window name")
        if service is None:
            service = os.environ.get("PROKIT_WINDOW_SERVICE") or None
        if service is not None and (not valid_name(service) or service == name):
            raise error_from(EINVAL, f"{service!r} is not a pool name for window '{name}'")
        if shown is None:
            shown = os.environ.get("PROKIT_WINDOW_SHOW") != "0"
        self._shown = shown
        self._close_requested = False
        self._on_close: Optional[Callable[[], Any]] = None
        self._on_visibility: Optional[Callable[[bool], Any]] = None
        hello: Dict[str, Any] = {}
        if presence:
            hello["presence"] = True
        if shown:
            hello["shown"] = True
        hello.update({"version": 2, "channel": True, "credit": 4000, "channels": True})
        if service:
            hello["service"] = service
        # "took": our RECEIPTs name the windows' sessions, and windows back
        # from a router that went say what they took in of ours (TOOK);
        # "flow": we hold our messages to a window whose queue is full
        # when the router says so (FLOW)
        hello.update({"progress": True, "cancel": True, "deadlines": True, "took": True,
                      "flow": True})
        if self._reads_batch:
            # we read the channel, and BATCHes on it: main's small messages
            # several to a frame, while we are behind or within a round of
            # the router's work (fewer reads for us, fewer publishes for it)
            hello["batch"] = True
        self.service = service
        Client.__init__(self, name, endpoint=resolve_endpoint(endpoint, app_name),
                        curve_cert=_setting(curve_cert, "PROKIT_CURVE_CERT"),
                        curve_server_key=_setting(curve_server_key, "PROKIT_CURVE_SERVER_KEY"),
                        join_timeout=join_timeout, request_timeout=request_timeout,
                        hello=hello, context=context)
        if _join:
            self._join_wait()

    # listeners (onMsgFromMain, onRenderMsgToRender, channels)

    def on_main_message(self, fn: MessageFn) -> MessageFn:
        """Add a listener for main's messages, direct or broadcast
        (``onMsgFromMain``), on the default channel. Usable as a decorator."""
        self._listeners_main.setdefault(None, []).append(fn)
        return fn

    def off_main_message(self, fn: MessageFn) -> None:
        """Remove a listener added with :meth:`on_main_message`."""
        self._remove(self._listeners_main, None, fn)

    def on_window_message(self, fn: MessageFn) -> MessageFn:
        """Add a listener for other windows' messages (``onRenderMsgToRender``)."""
        self._listeners_window.setdefault(None, []).append(fn)
        return fn

    def off_window_message(self, fn: MessageFn) -> None:
        """Remove a listener added with :meth:`on_window_message`."""
        self._remove(self._listeners_window, None, fn)

    def on(self, channel: str, fn: Optional[MessageFn] = None):
        """Add a listener for messages on the named CHANNEL, from main or
        from windows (``ipcRenderer.on(channel)``); also a decorator."""
        if fn is None:
            return lambda f: self.on(channel, f)
        _check_channel(channel)
        self._listeners_main.setdefault(channel, []).append(fn)
        self._listeners_window.setdefault(channel, []).append(fn)
        return fn

    def off(self, channel: str, fn: MessageFn) -> None:
        """Remove a listener added with :meth:`on`."""
        self._remove(self._listeners_main, channel, fn)
        self._remove(self._listeners_window, channel, fn)

    @staticmethod
    def _remove(table: Dict[Optional[str], List[MessageFn]], channel: Optional[str], fn: MessageFn) -> None:
        try:
            table.get(channel, []).remove(fn)
        except ValueError:
            raise error_from(-3, "no such listener") from None

    def on_close(self, fn: Optional[Callable[[], Any]]) -> Optional[Callable[[], Any]]:
        """Set the callback for main closing the window (destroyWindow)."""
        self._on_close = fn
        return fn

    def on_visibility(self, fn: Optional[Callable[[bool], Any]]) -> Optional[Callable[[bool], Any]]:
        """Set the callback for main showing (True) or hiding (False) the window."""
        self._on_visibility = fn
        return fn

    # sending

    def send(self, target: str, payload: Any = None, *, channel: Optional[str] = None) -> None:
        """Send PAYLOAD to the window (or pool) TARGET (``renderMsgToRender``).
        Failures to deliver come later, to :meth:`on_undelivered`;
        :class:`AgainError` at once (nothing sent) while the router has us
        hold our messages to TARGET, a window not keeping up."""
        self._send_to(target, payload, channel)

    # state

    @property
    def close_requested(self) -> bool:
        """True once main has closed the window."""
        return self._close_requested

    @property
    def is_shown(self) -> bool:
        """True while the window is visible (as main started it, then SHOW/HIDE)."""
        return self._shown

    def run(self, timeout: Optional[int] = None) -> bool:  # type: ignore[override]
        """Dispatch until :meth:`stop`, main closes the window (returns True)
        or TIMEOUT ms pass (None: no limit). Returns True if main closed it."""
        Client.run(self, timeout)
        return self._close_requested

    def _run_done(self) -> bool:
        return self._close_requested

    def _on_other(self, cmd: int, msg_id: int, peer: bytes, body: bytes) -> None:
        if cmd == w.CLOSE:
            if self._state != "joined":
                return
            self._close_requested = True
            counts = self._counts()
            self._close_sub()
            self._counting = False
            self._state = "closed_by_main"
            for pending in list(self._pending.values()):
                pending._finish(None, error_from(ECLOSED, "main closed the window"))
            try:
                self._send(w.BYE, 0, b"", pack(counts))
            except ProkitError:
                pass
            if self._on_close is not None:
                self._on_close()
        elif cmd in (w.SHOW, w.HIDE):
            self._shown = cmd == w.SHOW
            if self._on_visibility is not None:
                self._on_visibility(self._shown)

    def _on_monitor(self) -> None:
        if self._state == "closed_by_main":
            try:
                self._monitor.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                pass
            return
        Client._on_monitor(self)


class Main(_Listeners, Client):
    """Main attached to a broker (``prokit_main_new()`` with
    ``PROKIT_BROKER``): handles windows' requests, sends, broadcasts, closes,
    shows and hides windows, and keeps the registry of windows from presence.

    BROKER defaults to ``$PROKIT_BROKER``, then to the endpoint as windows
    resolve it; CURVE to ``$PROKIT_CURVE_CERT`` and
    ``$PROKIT_CURVE_SERVER_KEY``. Returns once joined as ``@main``
    (:class:`ExistsError` if a main is already there).
    """

    def __init__(self, broker: Optional[str] = None, *, app_name: Optional[str] = None,
                 join_timeout: int = JOIN_TIMEOUT_MS, request_timeout: int = REQUEST_TIMEOUT_MS,
                 curve_cert: Optional[str] = None, curve_server_key: Optional[str] = None,
                 context: Optional[zmq.Context] = None, _join: bool = True) -> None:
        self._windows: Dict[str, Dict[str, Any]] = {}
        # What main must hear of if the broker goes with its SENDs and
        # BROADCASTs (_account.py), kept when the WELCOME says the router
        # sends ACCOUNTs (an older one does not: None); and the account of
        # the session that was lost, until the next WELCOME says whether the
        # router is the one lost (it settles it itself) or another.
        self._account: Optional[Account] = None
        self._last_account: Optional[Account] = None
        endpoint = broker or os.environ.get("PROKIT_BROKER") or resolve_endpoint(None, app_name)
        # Main is always attached to a broker here (no embedded router): it
        # asks for ACCOUNTs, and holds back when told (FLOW).
        hello = {"version": 2, "credit": 4000, "account": True, "channels": True,
                 "progress": True, "cancel": True, "deadlines": True, "flow": True}
        Client.__init__(self, MAIN, endpoint=endpoint,
                        curve_cert=_setting(curve_cert, "PROKIT_CURVE_CERT"),
                        curve_server_key=_setting(curve_server_key, "PROKIT_CURVE_SERVER_KEY"),
                        join_timeout=join_timeout, request_timeout=request_timeout,
                        hello=hello, context=context)
        if _join:
            self._join_wait()

    def send(self, window: str, payload: Any = None, *, channel: Optional[str] = None) -> None:
        """Send PAYLOAD to WINDOW (``mainMsgToRender``)."""
        msg_id = self._send_to(window, payload, channel)
        if self._account is not None:
            self._account.sent(window, msg_id)

    def broadcast(self, payload: Any = None, *, channel: Optional[str] = None) -> None:
        """Send PAYLOAD to every window joined (``prokit_main_broadcast()``)."""
        self._check_joined()
        msg_id = self._one_way(w.BROADCAST, "", self._payload(payload), channel)
        if self._account is not None:
            self._account.sent("", msg_id)

    def destroy_window(self, name: str) -> None:
        """Close window NAME (CLOSE): it is dropped at once, LEFT "closed by main"."""
        self._order(w.CLOSE, name)

    close_window = destroy_window

    def show_window(self, name: str) -> None:
        """Show window NAME (SHOW)."""
        self._order(w.SHOW, name)

    def hide_window(self, name: str) -> None:
        """Hide window NAME (HIDE)."""
        self._order(w.HIDE, name)

    def _order(self, command: int, name: str) -> None:
        if not valid_name(name):
            raise error_from(EINVAL, f"'{name}' is not a window name")
        self._one_way(command, name, pack({}) if command == w.CLOSE else b"")

    def get_all_windows(self) -> List[str]:
        """The names of the windows joined, as presence has told main."""
        return list(self._windows)

    def get_window(self, name: str) -> Optional[Dict[str, Any]]:
        """What JOINED said of window NAME (pid, address, shown, joined_at,
        service), or None if it has not joined."""
        return self._windows.get(name)

    def has_window(self, name: str) -> bool:
        """True if window NAME has joined."""
        return name in self._windows

    @property
    def window_count(self) -> int:
        """How many windows have joined."""
        return len(self._windows)

    def _on_presence_msg(self, name: str, joined: bool, info: Dict[str, Any]) -> None:
        if joined:
            self._windows[name] = info
            if self._accounts:
                self._window_back(name, info)
        else:
            self._windows.pop(name, None)
        Client._on_presence_msg(self, name, joined, info)

    def _window_back(self, name: str, info: Any) -> None:
        """JOINED while accounts of routers that went wait: the window's
        HELLO said what its lost session took in of ours ("last_token",
        "last_count"; none: it cannot say). An account whose windows are all
        back is settled now."""
        token, count = "", 0
        if isinstance(info, dict):
            token, count = info.get("last_token", ""), info.get("last_count", 0)
        if not isinstance(token, str) or type(count) is not int or count < 0:
            token, count = "", 0
        for account in list(self._accounts):
            if account.window_back(name, token, count):
                self._accounts.remove(account)
                account.settle(self._report_account)

    def _on_lost(self) -> None:
        # What the router had not settled of our sends waits for the next
        # WELCOME: the same router settles it itself, another cannot. (Only
        # a joined session's: main has an account only once welcomed.)
        if self._account is not None:
            self._last_account, self._account = self._account, None
        # As the C main: every window is reported as having left; the router
        # sends JOINED for each window there when main joins again.
        windows, self._windows = self._windows, {}
        for name in windows:
            Client._on_presence_msg(self, name, False, {"reason": "connection to the broker lost"})

    def _account_of(self) -> Optional[Account]:
        """The account an ACCOUNT or ERROR read now is about: before we are
        in again, the lost session's (read from the connection as it ended,
        or the next router's refusals of what we sent into it)."""
        return self._account if self._state == "joined" else self._last_account

    def _on_other(self, cmd: int, msg_id: int, peer: bytes, body: bytes) -> None:
        if cmd != w.ACCOUNT:
            return
        account = self._account_of()
        if account is None:
            return
        try:
            value = unpack(body) if body else {}
        except Exception:
            return
        account.update(value)

    def _on_reported(self, msg_id: int, target: str, count: int, text: str) -> None:
        account = self._account_of()
        if account is None:
            return
        if msg_id == w.ONE_WAY:
            # what the router published and the window never took in
            account.reported(target, count)
        else:
            account.refused(msg_id)  # those before it were published

    def _report_unconfirmed_sends(self) -> None:
        # The router that welcomed us is not the one we lost: what the lost
        # one never settled is reported once the windows that had a session
        # there have joined this one and said what they took in (JOINED), or
        # at the deadline.
        account, self._last_account = self._last_account, None
        if account is None:
            return
        # (the wait is read from _client at each use: tests shorten it)
        if account.await_windows(_now_ms() + _client.ACCOUNT_WAIT_MS):
            self._accounts.append(account)
            self._wake_at(account.deadline)
        else:
            account.settle(self._report_account)

    def _new_session(self) -> None:
        # The same router (or one that cannot say): it settled the lost
        # session itself.
        self._last_account = None
        self._account = Account() if self._welcome.get("account") is True else None
