"""The client shared by Window and Main: one DEALER to the router, protocol
version 2 on it (one frame per message), a window's SUB on the PUB channel
when the router gives one (main's messages, alone or several to a BATCH;
on the DEALER otherwise), flow control (credit) on both, holding back from
a window when told (FLOW), ZMTP heartbeats, a socket monitor for lost
connections, and rejoin, as docs/PROTOCOL.md says.

Like a pyzmq socket, a handle belongs to the thread that uses it: callbacks
run on that thread, inside :meth:`Client.dispatch`, :meth:`Client.run` or
while a blocking :meth:`Client.request` waits.
"""
from __future__ import annotations

import logging
import os
import re
import threading
import time
from itertools import islice
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import msgpack
import zmq
from zmq.utils.monitor import parse_monitor_message

from . import _wire as w
from ._account import Account
from ._tally import Tallies
from .errors import (
    EACCES, EAGAIN, ECANCELED, ECLOSED, EHANDLER, EINVAL, ENOHANDLER, EPROTO, ETIMEDOUT,
    ETOOBIG, ETRANSPORT, HandlerError, ProkitError, error_from,
)

MAIN = "@main"
#: The flow-control window asked for and the confirmation batch (as the C client).
CREDIT_WINDOW = 4000
CREDIT_BATCH = 500
#: And, once we have handed on all there was, whatever we have not said yet,
#: at most every CREDIT_IDLE_MS: so that a window that handled a few messages
#: and then died is not thought to have perhaps taken them in
#: (PROKIT_EUNCONFIRMED), at a cost of at most one CREDIT a millisecond.
CREDIT_IDLE_MS = 1.0
HEARTBEAT_IVL_MS = 1000
HEARTBEAT_TIMEOUT_MS = 3000
JOIN_TIMEOUT_MS = 5000
REQUEST_TIMEOUT_MS = 30000
BYE_WAIT_MS = 500
HWM = 10000
_SLICE_MS = 250            # longest poll, so that stop() and signals are seen
_REPORT_ID = 1 << 63       # the router's report of messages not taken in
#: After the router went, how long the windows' TOOKs are waited for (as the C client).
TOOK_WAIT_MS = 30000
#: After the router went, how long main waits for each window it had sent to
#: to join again and say what it took in (JOINED; as the C client).
ACCOUNT_WAIT_MS = 30000
_FROM_MAX = 32             # senders a HELLO's last_from names at most

_NAME_RE = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_CHANNEL_RE = re.compile(rb"[\x21-\x22\x24-\x7e]{1,64}\Z")

_MAIN_BYTES = b"@main"
_BATCH_HEAD = b"PK\x02" + bytes((w.BATCH,))   # a BATCH's first bytes, after its topic
_log = logging.getLogger("prokit")
_EVENTS, _POLLIN, _RCVMORE, _NOBLOCK = (int(zmq.EVENTS), int(zmq.POLLIN), int(zmq.RCVMORE),
                                     int(zmq.NOBLOCK))


def _now_ms() -> float:
    return time.monotonic() * 1000.0


def valid_name(name: str) -> bool:
    """True if NAME is a window name (section 4)."""
    return bool(_NAME_RE.match(name.encode("ascii", "replace")))


def _check_channel(channel: Optional[str]) -> bytes:
    if not channel:
        return b""
    raw = channel.encode("ascii", "replace")
    if not _CHANNEL_RE.match(raw):
        raise error_from(EINVAL, f"'{channel}' is not a channel name")
    return b"#" + raw


def resolve_endpoint(endpoint: Optional[str] = None, app_name: Optional[str] = None) -> str:
    """``prokit_endpoint_resolve()``: ENDPOINT, else ``$PROKIT_ENDPOINT``, else
    the application's default ipc path (``$XDG_RUNTIME_DIR/prokit-APP.sock`` or
    ``/tmp/prokit-APP-UID.sock``), APP being APP_NAME, ``$PROKIT_APP`` or prokit."""
    if endpoint:
        return endpoint
    given = os.environ.get("PROKIT_ENDPOINT")
    if given:
        return given
    app = app_name or os.environ.get("PROKIT_APP") or "prokit"
    if not valid_name(app):
        raise error_from(EINVAL, f"'{app}' is not a valid application name")
    run = os.environ.get("XDG_RUNTIME_DIR")
    if run:
        return f"ipc://{run}/prokit-{app}.sock"
    return f"ipc:///tmp/prokit-{app}-{os.getuid()}.sock"


def _setting(given: Optional[str], env: str) -> Optional[str]:
    if given:
        return given
    return os.environ.get(env) or None


def pack(value: Any) -> bytes:
    """A payload: one msgpack value."""
    return msgpack.packb(value, use_bin_type=True)


def unpack(body: bytes) -> Any:
    """A payload's value (str for msgpack str, bytes for bin)."""
    return msgpack.unpackb(body, raw=False, strict_map_key=False, unicode_errors="replace")


_TOKEN_RE = re.compile(r"[0-9a-f]{16}\Z")


def _receipt_session(entry: Any) -> bool:
    """True if ENTRY is a RECEIPT's [count, queued, token, session_queued]."""
    return (isinstance(entry, list) and len(entry) == 4
            and all(isinstance(entry[i], int) and entry[i] >= 0 for i in (0, 1, 3))
            and entry[0] <= entry[1] and isinstance(entry[2], str)
            and _TOKEN_RE.match(entry[2]) is not None)


def _finish_reply(pending: Any, body: bytes) -> None:
    """End PENDING with the value of the REPLY body BODY, or with EPROTO."""
    try:
        value = unpack(body)
    except Exception:
        pending._finish(None, error_from(EPROTO, "malformed reply"))
        return
    pending._finish(value, None)


def _load_secret_cert(path: str) -> Tuple[bytes, bytes]:
    """(public, secret) Z85 keys of a czmq/prokit certificate (PATH_secret, or PATH)."""
    from zmq.auth import load_certificate

    for candidate in (path + "_secret", path):
        if os.path.isfile(candidate):
            public, secret = load_certificate(candidate)
            if not secret:
                continue
            return public, secret
    raise error_from(ETRANSPORT, f"certificate {path} has no secret key (or is missing)")


def _server_key(given: str) -> bytes:
    if os.path.isfile(given):
        from zmq.auth import load_certificate

        return load_certificate(given)[0]
    if len(given) == 40:
        return given.encode("ascii")
    raise error_from(ETRANSPORT, f"server key '{given[:48]}' is neither a Z85 key nor a certificate file")


class Message:
    """A SEND or BROADCAST received: ``sender``, ``payload``, ``channel``
    (None: the default one), ``is_broadcast``."""

    __slots__ = ("sender", "payload", "channel", "is_broadcast")

    def __init__(self, sender: str, payload: Any, channel: Optional[str], is_broadcast: bool) -> None:
        self.sender = sender
        self.payload = payload
        self.channel = channel
        self.is_broadcast = is_broadcast

    def __repr__(self) -> str:
        kind = "broadcast" if self.is_broadcast else "message"
        on = f" on {self.channel!r}" if self.channel else ""
        return f"<prokit {kind} from {self.sender!r}{on}: {self.payload!r}>"


class Request:
    """A request received. The handler's return value is the reply, and
    raising fails it (:class:`HandlerError` with your ``app_code``). Call
    :meth:`defer` to answer later with :meth:`reply` or :meth:`fail` (from the
    handle's thread)."""

    def __init__(self, client: "Client", msg_id: int, sender: str, payload: Any,
                 channel: Optional[str], deadline_ms: Optional[float]) -> None:
        self._client = client
        self.id = msg_id
        self.sender = sender
        self.payload = payload
        self.channel = channel
        self.deadline_ms = deadline_ms      # on time.monotonic()*1000, or None
        self.cancelled = False
        self.deferred = False
        self.answered = False

    def time_left(self) -> Optional[float]:
        """``prokit_request_time_left()``: ms left before the requester gives
        up, or None when it said no deadline."""
        if self.deadline_ms is None:
            return None
        return max(0.0, self.deadline_ms - _now_ms())

    def is_cancelled(self) -> bool:
        """True once the requester has cancelled the request (CANCEL)."""
        return self.cancelled

    def defer(self) -> None:
        """Answer later: the handler's return value is then ignored."""
        self.deferred = True

    def reply(self, value: Any = None) -> None:
        """Answer with VALUE (``prokit_request_reply()``)."""
        self._client._answer(self, value, None)

    def fail(self, app_code: int = 0, text: str = "") -> None:
        """Answer PROKIT_EHANDLER with APP_CODE and TEXT (``prokit_request_fail()``)."""
        self._client._answer(self, None, HandlerError(text or "request handler failed", app_code))

    def progress(self, value: Any = None) -> None:
        """Send the requester an update before the answer (PROGRESS)."""
        if self.answered:
            raise error_from(ECLOSED, "the request has been answered")
        self._client._send(w.PROGRESS, self.id, self.sender.encode(), pack(value))

    def __repr__(self) -> str:
        on = f" on {self.channel!r}" if self.channel else ""
        return f"<prokit request {self.id} from {self.sender!r}{on}: {self.payload!r}>"


class PendingRequest:
    """A request in flight: :meth:`result` waits for its answer; :meth:`cancel`
    gives up. ``on_done`` (if given) is called with it when it ends."""

    __slots__ = ("_client", "id", "target", "deadline_ms", "progress", "on_done", "done",
                 "value", "error")

    def __init__(self, client: "Client", msg_id: int, target: str, deadline_ms: float,
                 progress: Optional[Callable[[Any], Any]],
                 on_done: Optional[Callable[["PendingRequest"], Any]]) -> None:
        self._client = client
        self.id = msg_id
        self.target = target
        self.deadline_ms = deadline_ms
        self.progress = progress
        self.on_done = on_done
        self.done = False
        self.value: Any = None
        self.error: Optional[ProkitError] = None

    def _finish(self, value: Any, error: Optional[ProkitError]) -> None:
        if self.done:
            return
        self.done = True
        self.value = value
        self.error = error
        self._client._pending.pop(self.id, None)
        if self.on_done is not None:
            self.on_done(self)

    def result(self, timeout: Optional[int] = None) -> Any:
        """Wait (dispatching) for the answer; its value, or raise its error."""
        self._client._wait(lambda: self.done, None if timeout is None else _now_ms() + timeout)
        if not self.done:
            raise error_from(ETIMEDOUT, f"no answer from '{self.target}' yet")
        if self.error is not None:
            raise self.error
        return self.value

    def cancel(self) -> None:
        """Give up: CANCEL to the one handling it; the request ends with
        :class:`CancelledError` at once."""
        self._client.cancel(self.id)


Callback = Callable[..., Any]


class Client:
    """What Window and Main share: the connection, the join and rejoin, the
    requests made and received. Not for use on its own."""

    _is_main = False

    def __init__(self, name: str, *, endpoint: str, curve_cert: Optional[str],
                 curve_server_key: Optional[str], join_timeout: int, request_timeout: int,
                 hello: Dict[str, Any], context: Optional[zmq.Context]) -> None:
        self.name = name
        self.endpoint = endpoint
        self.request_timeout = request_timeout
        self.join_timeout = join_timeout
        self._hello_keys = hello
        self._ctx = context or zmq.Context.instance()
        self._sock: zmq.Socket = self._ctx.socket(zmq.DEALER)
        self._monitor: Optional[zmq.Socket] = None
        self._curve: Optional[Tuple[bytes, bytes, bytes]] = None
        # The PUB channel (windows): this session's SUB, its topic, and the
        # SENDs and BROADCASTs taken in from it since the HELLO.
        self._sub: Optional[zmq.Socket] = None
        self._topic: Optional[str] = None
        self._topic_bytes = b""
        self._taken = 0
        self._confirmed_taken = 0
        # A BATCH read from the channel whose entries are being handed on,
        # one at a time, as if each had come alone (they count as they are
        # handed on, and a dispatch that stops between two leaves the rest
        # for the next): its body and where its next entry starts. It goes
        # with the SUB (_close_sub). And how many BATCHes were read, and
        # entries handed on from them, in all (the tests look).
        self._batch: Optional[bytes] = None
        self._batch_at = 0
        self._batches_read = 0
        self._batch_entries = 0
        s = self._sock
        s.setsockopt(zmq.LINGER, 200)
        s.setsockopt(zmq.SNDHWM, HWM)
        s.setsockopt(zmq.RCVHWM, HWM)
        s.setsockopt(zmq.HEARTBEAT_IVL, HEARTBEAT_IVL_MS)
        s.setsockopt(zmq.HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS)
        if curve_cert or curve_server_key:
            if not (curve_cert and curve_server_key):
                s.close(0)
                raise error_from(EINVAL, "CURVE needs both a certificate and the server's key")
            public, secret = _load_secret_cert(curve_cert)
            self._curve = (public, secret, _server_key(curve_server_key))
            s.curve_publickey, s.curve_secretkey, s.curve_serverkey = self._curve
        events = zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED
        for name_ in ("EVENT_HANDSHAKE_FAILED_AUTH", "EVENT_HANDSHAKE_FAILED_PROTOCOL",
                      "EVENT_HANDSHAKE_FAILED_NO_DETAIL"):
            events |= getattr(zmq, name_, 0)
        self._monitor = s.get_monitor_socket(events)
        self._poll_items = [(s, _POLLIN), (self._monitor, _POLLIN)]

        self._state = "joining"          # joining, joined, lost, closed
        self._version = 1                # what we send: 2 once a WELCOME says so
        self._next_id = 0                # request ids 1, 2, 3, ... (HELLOs too)
        self._next_one_way = 0
        self._hello_id = 0
        self._hello_error: Optional[ProkitError] = None
        self._consumed = 0               # taken in from the DEALER since the WELCOME
        self._confirmed = 0
        self._credit_at = 0.0            # when we last sent a CREDIT (_now_ms())
        self._credit_due = 0.0           # when to say what came since, once idle; 0: no need
        self._counting = False           # between our HELLO and its WELCOME: not counted
        self._last: Dict[str, int] = {}  # the lost session's counts, for the next HELLO
        self._rejoining = False          # a session has been lost: HELLOs get fresh ids
        self._welcome: Dict[str, Any] = {}
        self._clock_offset = 0.0         # our ms clock - the router's
        self.max_payload = 16 * 1024 * 1024
        self._instance: Optional[str] = None
        self._pending: Dict[int, PendingRequest] = {}
        self._peers: Dict[Tuple[str, int, Optional[str]], bytes] = {}  # REQUEST peer fields
        self._packer = msgpack.Packer(use_bin_type=True)
        self._early: List[Tuple[int, int, bytes, bytes]] = []
        self._next_expiry = 0.0          # no request in flight ends before this
        self._held: Dict[Tuple[str, int], Request] = {}
        self._handlers: Dict[Optional[str], Callback] = {}
        self._listeners_main: Dict[Optional[str], List[Callback]] = {}
        self._listeners_window: Dict[Optional[str], List[Callback]] = {}
        self._on_undelivered: Optional[Callback] = None
        self._on_connection: Optional[Callback] = None
        self._on_presence: Optional[Callback] = None
        # Our SENDs to each window in this session and what became of them
        # (_tally.py); those of a router that went, waiting for the windows'
        # TOOKs until its deadline.
        self._sends = Tallies()
        self._settling: Optional[Tallies] = None
        # Main: the accounts of routers that went (_account.py), each waiting
        # for its windows' JOINED until its deadline.
        self._accounts: List[Account] = []
        # The SENDs taken in from the DEALER in this session, per sender:
        # [count, id of the first, id of the last] (said in the HELLO after
        # a loss, last_from, so that their senders learn what we took in).
        self._taken_from: Dict[bytes, List[int]] = {}
        # The windows the router told us to hold our messages to (FLOW)
        # while their queues are full: sends and requests to them fail with
        # AgainError at once, nothing sent, until it says they have room.
        # Ends with the session.
        self._holding: Set[str] = set()
        self._stop = threading.Event()
        self._rejoined_pending = False
        self._pause_after_join = False
        self._async_kick: Optional[Callable[[], None]] = None
        try:
            s.connect(endpoint)
        except zmq.ZMQError as e:
            self._close_sockets()
            raise error_from(ETRANSPORT, f"cannot connect to {endpoint}: {e}") from None
        self._send_hello()

    # --- join ------------------------------------------------------------------

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _send_hello(self) -> None:
        hello: Dict[str, Any] = {"pid": os.getpid()}
        hello.update(self._hello_keys)
        hello.update(self._last)
        self._hello_id = self._new_id() if self._rejoining else 0
        self._hello_error = None
        self._version = 1
        self._counting = False
        self._taken = self._confirmed_taken = 0
        self._credit_due = 0.0
        self._taken_from = {}
        self._state = "joining"
        self._raw_send(w.encode_v1(w.HELLO, self._hello_id, self.name.encode(), pack(hello)))

    def _join_wait(self) -> None:
        """Block until the first WELCOME (or its refusal)."""
        deadline = _now_ms() + self.join_timeout
        self._pause_after_join = True
        try:
            # (a connection lost meanwhile is joined again on its reconnection)
            self._wait(lambda: self._state == "joined" or self._hello_error is not None, deadline)
        finally:
            self._pause_after_join = False
        if self._hello_error is not None:
            err = self._hello_error
            self.close(linger=0)
            raise err
        if self._state != "joined":
            self.close(linger=0)
            raise error_from(ETIMEDOUT, f"no WELCOME from {self.endpoint} within {self.join_timeout} ms")

    def _on_welcome(self, msg_id: int, body: bytes) -> None:
        if msg_id != self._hello_id or self._state != "joining":
            return
        try:
            welcome = unpack(body) if body else {}
        except Exception:
            welcome = {}
        self._welcome = welcome if isinstance(welcome, dict) else {}
        self.max_payload = int(self._welcome.get("max_payload", self.max_payload))
        self._version = 2 if self._welcome.get("version") == 2 else 1
        clock = self._welcome.get("clock")
        # The router's clock is read to the ms (up to 1 ms behind): one ms
        # less keeps a deadline never later than the requester's.
        self._clock_offset = _now_ms() - clock - 1 if isinstance(clock, int) else 0.0
        instance = self._welcome.get("instance")
        rejoined = self._rejoining
        if rejoined and self._instance is not None and instance != self._instance:
            self._report_unconfirmed_sends()
        self._new_session()
        self._sends = Tallies()
        self._peers = {}
        self._instance = instance
        self._last = {}
        self._consumed = 1              # the WELCOME is the first message counted
        self._confirmed = 0
        self._counting = True
        channel, topic = self._welcome.get("channel"), self._welcome.get("topic")
        if isinstance(channel, str) and isinstance(topic, str):
            if not re.fullmatch(r"[0-9a-f]{16}", topic):
                self._hello_error = error_from(EPROTO, "malformed WELCOME: bad topic")
                return
            self._open_sub(channel, topic)  # joined once the channel's WELCOME comes
            self._rejoined_pending = rejoined
            return
        self._joined(rejoined)

    def _joined(self, rejoined: bool) -> None:
        self._state = "joined"
        self._on_joined()
        if rejoined:
            self._event_connection(True, None)

    def _channel_endpoint(self, channel: str) -> str:
        # Over tcp: the host we reached the router at, with the channel's port.
        if self.endpoint.startswith("tcp://") and channel.startswith("tcp://"):
            return self.endpoint.rsplit(":", 1)[0] + ":" + channel.rsplit(":", 1)[1]
        return channel

    def _open_sub(self, channel: str, topic: str) -> None:
        sub = self._ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.setsockopt(zmq.RCVHWM, HWM)
        if self._curve is not None:
            sub.curve_publickey, sub.curve_secretkey, sub.curve_serverkey = self._curve
        self._topic = topic
        self._topic_bytes = bytes.fromhex(topic)
        sub.setsockopt(zmq.SUBSCRIBE, self._topic_bytes)
        try:
            sub.connect(self._channel_endpoint(channel))
        except zmq.ZMQError as e:
            sub.close(0)
            self._hello_error = error_from(ETRANSPORT, f"cannot connect to the channel {channel}: {e}")
            return
        self._sub = sub
        self._poll_items = self._poll_items + [(sub, _POLLIN)]
        self._sub_opened(sub)

    def _close_sub(self) -> None:
        sub = self._sub
        if sub is None:
            return
        self._sub = None
        self._batch = None  # the rest of a BATCH of the session that ends
        self._sub_closing(sub)
        self._poll_items = [item for item in self._poll_items if item[0] is not sub]
        sub.close(0)

    def _sub_opened(self, sub: zmq.Socket) -> None:
        """asyncio: watch SUB too."""

    def _sub_closing(self, sub: zmq.Socket) -> None:
        """asyncio: stop watching SUB."""

    def _counts(self) -> Dict[str, Any]:
        """What we took in of this session (BYE, and the HELLO after a loss)."""
        if self._topic is None:
            return {"last_dealer": self._consumed}
        return {"last_topic": self._topic, "last_count": self._taken, "last_dealer": self._consumed}

    def _drain_sub(self) -> None:
        """Hand on what the ended session's SUB still holds (it counts),
        the rest of a BATCH first."""
        while self._sub is not None:
            try:
                frames, at = self._next_on_channel(self._sub)
            except zmq.Again:
                return
            self._handle_sub(frames, at)

    def _on_joined(self) -> None:
        """Subclasses: the session began."""

    def _new_session(self) -> None:
        """Subclasses: a WELCOME began a session (after any reports of the last)."""

    def _report_unconfirmed_sends(self) -> None:
        """The router that welcomed us is not the one we lost: the lost
        session's SENDs that router never settled are reported undelivered,
        but for those the windows back say they took in (TOOK, PROTOCOL.md
        section 10), which are waited for up to TOOK_WAIT_MS."""
        lost = self._sends
        if not lost.windows:
            return  # nothing sent: an earlier wait goes on
        # One router's tallies at a time: the TOOKs about an earlier one's
        # windows would come from the router that followed it, now gone too.
        if self._settling is not None:
            self._settling.settle(self._report_account)
            self._settling = None
        if lost.await_took(_now_ms() + TOOK_WAIT_MS, self._report_account):
            self._settling = lost
            self._wake_at(lost.deadline)

    def _report_account(self, target: str, count: int, code: int, why: str) -> None:
        """COUNT messages to TARGET ("" for broadcasts) that a router that
        went never settled: one undelivered callback each, with CODE
        (ECLOSED: the window said it did not take them in; EUNCONFIRMED:
        nobody could say, they may have arrived) and WHY."""
        error = error_from(code, why)
        for _ in range(count):
            self._event_undelivered(target, error)

    def _wake_at(self, deadline_ms: float) -> None:
        """asyncio: run the loop's expiry at DEADLINE_MS (the blocking loop
        finds it with _expire())."""

    def _lose(self, error: ProkitError, rejoin_now: bool) -> None:
        """The session ended (lost connection, BYE): fail what was in flight."""
        if self._state in ("lost", "closed", "closed_by_main"):
            return
        was_joined = self._state == "joined"
        self._drain_sub()
        if self._state in ("lost", "closed", "closed_by_main"):
            return
        if self._counting:
            self._last = self._counts()
            if self._topic is not None and self._taken_from:
                # and from whom the DEALER's SENDs came, for their senders
                self._last["last_from"] = {
                    name.decode("ascii", "replace"): [count, first]
                    for name, (count, first, _) in islice(self._taken_from.items(), _FROM_MAX)}
        self._close_sub()
        self._topic = None
        # Messages that came while the join was completing were taken in
        # (counted, and said in the next HELLO): handed on, ahead of the loss.
        early, self._early = self._early, []
        for cmd, _, peer, body in early:
            if cmd == w.SEND or cmd == w.BROADCAST:
                self._on_message(cmd, peer, body)
        self._rejoining = True
        self._counting = False
        self._state = "lost"
        self._version = 1
        self._holding.clear()           # the next router has refused nothing yet
        for pending in list(self._pending.values()):
            pending._finish(None, error_from(ECLOSED, error.text))
        self._on_lost()
        if was_joined:
            self._event_connection(False, error)
        if rejoin_now and self._state == "lost":
            self._send_hello()

    def _on_lost(self) -> None:
        """Subclasses: the session ended."""

    # --- sending ---------------------------------------------------------------

    def _raw_send(self, frames: List[bytes]) -> None:
        try:
            if len(frames) == 1:
                self._sock.send(frames[0], _NOBLOCK)
            else:
                self._sock.send_multipart(frames, _NOBLOCK)
        except zmq.Again:
            raise error_from(-12, "the queue to the router is full") from None
        except zmq.ZMQError as e:
            raise error_from(ECLOSED, f"cannot send: {e}") from None
        if self._async_kick is not None:
            self._async_kick()

    def _send(self, command: int, msg_id: int, peer: bytes = b"", body: bytes = b"") -> None:
        if self._version == 2:
            self._raw_send(w.encode_v2(command, msg_id, peer, body))
        else:
            self._raw_send(w.encode_v1(command, msg_id, peer, body))

    def _check_joined(self) -> None:
        if self._state == "closed":
            raise error_from(ECLOSED, "the handle is closed")
        if self._state != "joined":
            raise error_from(ECLOSED, "not connected to main")

    def _pack(self, value: Any) -> bytes:
        try:
            return self._packer.pack(value)
        except Exception as e:
            self._packer = msgpack.Packer(use_bin_type=True)  # its buffer may hold a part
            raise error_from(EINVAL, f"the payload cannot be packed: {e}") from None

    def _payload(self, value: Any) -> bytes:
        body = self._pack(value)
        if len(body) > self.max_payload:
            raise error_from(ETOOBIG, f"payload of {len(body)} bytes exceeds the limit of {self.max_payload}")
        return body

    def _one_way(self, command: int, target: str, body: bytes = b"", channel: Optional[str] = None) -> int:
        self._check_joined()
        self._next_one_way += 1
        msg_id = w.ONE_WAY | self._next_one_way
        peer = target.encode() + _check_channel(channel)
        self._send(command, msg_id, peer, body)
        return msg_id

    def _send_to(self, target: str, payload: Any, channel: Optional[str]) -> int:
        if not valid_name(target):
            raise error_from(EINVAL, f"'{target}' is not a window name (main is asked, not sent to)")
        body = self._payload(payload)
        if self._holding and target in self._holding:
            self._check_joined()
            self._held_back(target)
        msg_id = self._one_way(w.SEND, target, body, channel)
        self._sends.sent(target, msg_id)
        return msg_id

    def _held_back(self, target: str) -> None:
        raise error_from(EAGAIN, f"'{target}' is not keeping up: holding messages to it "
                                 "until it has room")

    def unconfirmed(self, target: str) -> int:
        """Of the SENDs to TARGET in this session, how many are neither
        confirmed taken in (the router's RECEIPTs) nor reported undelivered:
        a sender may keep this under the receiver's credit (4000) so that
        none is refused for a full queue."""
        return self._sends.unconfirmed(target)

    # --- requests made ---------------------------------------------------------

    def request_async(self, target: Optional[str] = None, payload: Any = None, *,
                      timeout: Optional[int] = None, channel: Optional[str] = None,
                      progress: Optional[Callable[[Any], Any]] = None,
                      on_done: Optional[Callable[[PendingRequest], Any]] = None) -> PendingRequest:
        """Send a request without waiting: ``prokit_*_request_with()``.
        TARGET: a window, a pool, or ``"@main"`` (None: main). TIMEOUT in ms
        (default ``request_timeout``) is also the deadline the handler sees.
        PROGRESS is called with each update. Returns a :class:`PendingRequest`."""
        target = MAIN if target is None else target
        timeout = self.request_timeout if timeout is None else int(timeout)
        key = (target, timeout, channel)
        peer = self._peers.get(key)
        if peer is None:
            peer = self._request_peer(target, timeout, channel)
            if len(self._peers) < 1024:
                self._peers[key] = peer
        if self._state != "joined":
            self._check_joined()
        body = self._pack(payload)
        if len(body) > self.max_payload:
            raise error_from(ETOOBIG, f"payload of {len(body)} bytes exceeds the limit of {self.max_payload}")
        if self._holding and target in self._holding:
            self._held_back(target)
        self._next_id = msg_id = self._next_id + 1
        pending = PendingRequest(self, msg_id, target, _now_ms() + timeout, progress, on_done)
        if self._version == 2 and len(body) <= w.INLINE_MAX:
            # version 2 in one frame, written here: the hottest path there is
            n = (msg_id.bit_length() + 7) >> 3
            self._raw_send([b"PK\x02\x06" + bytes((n,)) + msg_id.to_bytes(n, "big")
                            + bytes((len(peer),)) + peer + body])
        else:
            self._send(w.REQUEST, msg_id, peer, body)
        self._track(pending)
        return pending

    def _request_peer(self, target: str, timeout: int, channel: Optional[str]) -> bytes:
        if target != MAIN and not valid_name(target):
            raise error_from(EINVAL, f"'{target}' is not a window or pool name")
        if timeout <= 0:
            raise error_from(EINVAL, "the timeout must be positive")
        self._check_joined()
        if channel and not self._welcome.get("channels"):
            raise error_from(-11, "this router does not route named channels")
        peer = target.encode()
        if self._welcome.get("deadlines"):
            peer += b"!%d" % timeout
        return peer + _check_channel(channel)

    def request(self, target: Optional[str] = None, payload: Any = None, *,
                timeout: Optional[int] = None, channel: Optional[str] = None,
                progress: Optional[Callable[[Any], Any]] = None) -> Any:
        """Ask TARGET (a window, a pool, ``"@main"``; None: main) and wait for
        the answer, dispatching meanwhile: ``prokit_*_request_wait()``.
        Returns the reply's value; raises :class:`ProkitError` (NotFoundError,
        TimedOutError, ClosedError, HandlerError, ...)."""
        pending = self.request_async(target, payload, timeout=timeout, channel=channel, progress=progress)
        self._wait(lambda: pending.done, pending.deadline_ms)
        if not pending.done:
            self._pending.pop(pending.id, None)
            pending._finish(None, error_from(ETIMEDOUT, f"no answer from '{pending.target}' within the deadline"))
        if pending.error is not None:
            raise pending.error
        return pending.value

    def _track(self, pending: PendingRequest) -> None:
        self._pending[pending.id] = pending
        if pending.deadline_ms < self._next_expiry:
            self._next_expiry = pending.deadline_ms

    def cancel(self, msg_id: int) -> None:
        """Cancel request MSG_ID: its outcome is :class:`CancelledError`, at once;
        the one handling it is told (CANCEL)."""
        pending = self._pending.get(msg_id)
        if pending is None:
            raise error_from(-3, f"no request {msg_id} in flight")
        if self._state == "joined":
            try:
                self._send(w.CANCEL, msg_id, pending.target.encode())
            except ProkitError:
                pass
        pending._finish(None, error_from(ECANCELED, "the request was cancelled"))

    def _expire(self) -> Optional[float]:
        """End requests past their deadline, and the waits for the TOOKs
        (a window) or the JOINEDs (main) about a router that went once their
        deadline passed (what still waits is reported); the next deadline,
        or None; and the CREDIT due once idle (_grant_idle)."""
        nearest = self._expire_requests() if self._pending else None
        due = self._credit_due
        if due:
            if due <= _now_ms():
                self._credit_due = 0.0
                self._grant_idle()
            elif nearest is None or due < nearest:
                nearest = due
        settling = self._settling
        if settling is not None:
            if settling.deadline <= _now_ms():
                self._settling = None
                settling.settle(self._report_account)
            elif nearest is None or settling.deadline < nearest:
                nearest = settling.deadline
        if self._accounts:
            now = _now_ms()
            for account in list(self._accounts):
                if account.deadline <= now:
                    self._accounts.remove(account)
                    account.settle(self._report_account)
                elif nearest is None or account.deadline < nearest:
                    nearest = account.deadline
        return nearest

    def _expire_requests(self) -> Optional[float]:
        now = _now_ms()
        if now < self._next_expiry:
            return self._next_expiry
        nearest = None
        for pending in list(self._pending.values()):
            if pending.deadline_ms <= now:
                pending._finish(None, error_from(ETIMEDOUT, f"no answer from '{pending.target}' within the deadline"))
            elif nearest is None or pending.deadline_ms < nearest:
                nearest = pending.deadline_ms
        self._next_expiry = nearest if nearest is not None else 0.0
        return nearest

    # --- queries ---------------------------------------------------------------

    def _query(self, what: str, timeout: Optional[int]) -> Any:
        self._check_joined()
        msg_id = self._new_id()
        timeout = self.request_timeout if timeout is None else timeout
        pending = PendingRequest(self, msg_id, "", _now_ms() + timeout, None, None)
        self._send(w.QUERY, msg_id, b"", pack({"what": what}))
        self._track(pending)
        self._wait(lambda: pending.done, pending.deadline_ms)
        if not pending.done:
            pending._finish(None, error_from(ETIMEDOUT, f"no answer to the '{what}' query"))
        if pending.error is not None:
            raise pending.error
        return pending.value

    def list_windows(self, timeout: Optional[int] = None) -> List[Dict[str, Any]]:
        """The windows that have joined, as the router knows them (QUERY
        "windows"): dicts with name, pid, address, shown, joined_at, last_seen, service."""
        return list(self._query("windows", timeout))

    def router_stats(self, timeout: Optional[int] = None) -> Dict[str, int]:
        """The router's counters (QUERY "stats")."""
        return dict(self._query("stats", timeout))

    def ping(self, timeout: int = 1000) -> bool:
        """PING the router; True if it answered with PONG in time."""
        msg_id = self._new_id()
        pending = PendingRequest(self, msg_id, "", _now_ms() + timeout, None, None)
        self._track(pending)
        self._send(w.PING, msg_id)
        self._wait(lambda: pending.done, pending.deadline_ms)
        self._pending.pop(msg_id, None)
        return pending.done and pending.error is None

    # --- requests received -----------------------------------------------------

    def _set_handler(self, channel: Optional[str], fn: Optional[Callback]) -> None:
        if channel:
            _check_channel(channel)
        if fn is None:
            self._handlers.pop(channel or None, None)
        else:
            self._handlers[channel or None] = fn

    def _on_request(self, msg_id: int, peer: bytes, body: bytes) -> None:
        text = peer.decode("ascii", "replace")
        sender, _, channel = text.partition("#")
        sender, bang, deadline = sender.partition("!")
        deadline_ms = None
        if bang:
            deadline_ms = int(deadline) + self._clock_offset
        request = Request(self, msg_id, sender, None, channel or None, deadline_ms)
        handler = self._handlers.get(channel or None)
        if handler is None:
            if channel:
                why = f"'{self.name}' has no handler for channel '{channel}'"
            else:
                why = f"'{self.name}' has no request handler"
            self._answer(request, None, error_from(ENOHANDLER, why))
            return
        if deadline_ms is not None and deadline_ms <= _now_ms():
            self._answer(request, None, error_from(
                ETIMEDOUT, f"its deadline passed before '{self.name}' could handle it"))
            return
        try:
            request.payload = unpack(body)
        except Exception:
            self._answer(request, None, error_from(EPROTO, "malformed request payload"))
            return
        self._held[(sender, msg_id)] = request
        self._call_handler(handler, request)

    def _call_handler(self, handler: Callback, request: Request) -> None:
        try:
            value = handler(request)
        except ProkitError as e:
            if not request.answered:
                code = e.code if e.code in (EHANDLER, ENOHANDLER, ETOOBIG, ECLOSED) else EHANDLER
                self._answer(request, None, error_from(code, e.text, e.app_code))
            return
        except Exception as e:  # the handler failed: PROKIT_EHANDLER
            if not request.answered:
                self._answer(request, None, HandlerError(f"{type(e).__name__}: {e}", 0))
            return
        if not request.deferred and not request.answered:
            self._answer(request, value, None)

    def _answer(self, request: Request, value: Any, error: Optional[ProkitError]) -> None:
        if request.answered:
            raise error_from(EINVAL, "the request has already been answered")
        request.answered = True
        self._held.pop((request.sender, request.id), None)
        if self._state != "joined":
            return  # the router has ended the request with the session
        peer = request.sender.encode()
        if error is None:
            try:
                body = pack(value)
            except Exception as e:
                error = HandlerError(f"reply cannot be packed: {e}")
            else:
                if len(body) > self.max_payload:
                    error = error_from(ETOOBIG, f"reply exceeds the limit of {self.max_payload} bytes")
                else:
                    self._send(w.REPLY, request.id, peer, body)
                    return
        text = error.text.encode("utf-8", "replace")[:1024].decode("utf-8", "ignore")
        self._send(w.ERROR, request.id, peer, pack([error.code, text, error.app_code]))

    # --- receiving -------------------------------------------------------------

    def _handle_sub(self, frames: List[bytes], at: int = 8) -> None:
        """A message on the PUB channel: our topic, then version 2, no peer;
        or (AT 0) an entry of a BATCH, whose topic was ours: the same
        without the topic, handled the same."""
        first = frames[0]
        if at and first[:8] != self._topic_bytes:
            return
        if first[at:at + 4] == b"PK\x02\x07" and len(frames) == 1 and first[at + 4] < 9:
            # main's REPLY in one frame, the common case: read in place
            n = first[at + 4]
            if len(first) > at + 5 + n and first[at + 5 + n] == 0:
                pending = self._pending.get(int.from_bytes(first[at + 5:at + 5 + n], "big"))
                if pending is not None and pending.target == MAIN:
                    _finish_reply(pending, first[at + 6 + n:])
                return
        try:
            cmd, msg_id, peer, body = w.decode(frames, at)
        except ValueError:
            return
        if cmd == w.BATCH:
            return  # not in one version 2 frame (_next_on_channel takes those)
        if cmd == w.WELCOME:
            if self._state == "joining" and msg_id == self._hello_id and not peer:
                self._joined(self._rejoined_pending)
            return
        if peer[:1] not in (b"", b"#", b"!"):
            return  # a name on the channel: not the router's
        if cmd == w.REPLY and not peer:  # the common case, main's answer: at once
            pending = self._pending.get(msg_id)
            if pending is not None and pending.target == MAIN:
                _finish_reply(pending, body)
            return
        if cmd == w.SEND or cmd == w.BROADCAST:
            self._taken += 1
            if self._taken - self._confirmed_taken >= CREDIT_BATCH:
                self._grant()
        self._dispatch(cmd, msg_id, _MAIN_BYTES + peer, body)

    def _grant(self) -> None:
        if self._state not in ("joined", "joining") or not self._counting:
            return
        consumed, taken = self._consumed, self._taken
        credit: Dict[str, int] = {"consumed": consumed}
        if self._topic is not None:
            credit["channel"] = taken
        self._send(w.CREDIT, 0, b"", pack(credit))
        self._confirmed = consumed
        self._confirmed_taken = taken
        self._credit_at = _now_ms()
        self._credit_due = 0.0

    def _grant_idle(self) -> None:
        """We have handed on all there was: say what we took in since our
        last CREDIT, now, or, within CREDIT_IDLE_MS of it, once that much
        time has passed (_expire, the loop's deadline)."""
        if ((self._consumed == self._confirmed and self._taken == self._confirmed_taken)
                or self._state != "joined" or not self._counting or self._early):
            return
        now = _now_ms()
        if now >= self._credit_at + CREDIT_IDLE_MS:
            try:
                self._grant()
            except ProkitError:
                # the queue to the router is full: tried again in a ms
                self._credit_due = now + CREDIT_IDLE_MS
                self._wake_at(self._credit_due)
        elif not self._credit_due:
            self._credit_due = self._credit_at + CREDIT_IDLE_MS
            self._wake_at(self._credit_due)

    def _handle(self, frames: List[bytes]) -> None:
        try:
            cmd, msg_id, peer, body = w.decode(frames)
        except ValueError:
            self._count_in()
            return
        if cmd == w.WELCOME:
            self._on_welcome(msg_id, body)
            return
        self._count_in()
        if cmd == w.BATCH:
            return  # on the channel only: malformed here
        if cmd == w.SEND:
            self._count_from(peer, msg_id)
        # A TOOK is ours, not the application's: taken at once (it comes
        # as our join completes, maybe ahead of the channel's WELCOME); so
        # is a FLOW (then about a session that has ended: ignored).
        if self._state == "joining" and cmd not in (w.BYE, w.PING, w.TOOK, w.FLOW) and not (
                cmd == w.ERROR and (msg_id == self._hello_id or msg_id & w.ONE_WAY)):
            # kept until the join completes (JOINEDs, a request to us...)
            self._early.append((cmd, msg_id, peer, body))
            return
        self._dispatch(cmd, msg_id, peer, body)

    def _count_from(self, peer: bytes, msg_id: int) -> None:
        """One more SEND taken in from the DEALER, from the sender PEER names,
        with id MSG_ID. A sender's ids grow while its process lives: ids that
        go back are another process under the name, counted afresh (its
        senders number theirs from their first, _tally.py)."""
        name = peer.partition(b"#")[0]
        counts = self._taken_from.get(name)
        if counts is None or msg_id <= counts[2]:
            self._taken_from[name] = [1, msg_id, msg_id]
        else:
            counts[0] += 1
            counts[2] = msg_id

    def _replay(self) -> int:
        early, self._early = self._early, []
        for message in early:
            self._dispatch(*message)
        return len(early)

    def _dispatch(self, cmd: int, msg_id: int, peer: bytes, body: bytes) -> None:
        if cmd == w.REPLY or cmd == w.ERROR or cmd == w.PROGRESS:
            self._on_answer(cmd, msg_id, peer, body)
        elif cmd == w.REQUEST:
            if self._state == "joined":
                self._on_request(msg_id, peer, body)
        elif cmd == w.SEND or cmd == w.BROADCAST:
            self._on_message(cmd, peer, body)
        elif cmd == w.PING:
            self._send(w.PONG, msg_id)
        elif cmd == w.PONG:
            pending = self._pending.get(msg_id)
            if pending is not None:
                pending._finish(True, None)
        elif cmd == w.INFO:
            pending = self._pending.get(msg_id)
            if pending is not None and pending.target == "":
                try:
                    pending._finish(unpack(body), None)
                except Exception:
                    pending._finish(None, error_from(EPROTO, "malformed INFO"))
        elif cmd == w.BYE:
            self._on_bye(msg_id, body)
        elif cmd == w.CANCEL:
            held = self._held.get((peer.decode("ascii", "replace"), msg_id))
            if held is not None:
                held.cancelled = True
        elif cmd == w.RECEIPT:
            self._on_receipt(body)
        elif cmd == w.TOOK:
            self._on_took(peer, body)
        elif cmd == w.FLOW:
            self._on_flow(peer, body)
        elif cmd == w.JOINED or cmd == w.LEFT:
            try:
                info = unpack(body) if body else {}
            except Exception:
                info = {}
            self._on_presence_msg(peer.decode("ascii", "replace"), cmd == w.JOINED, info or {})
        else:
            self._on_other(cmd, msg_id, peer, body)

    def _on_receipt(self, body: bytes) -> None:
        """RECEIPT: per window, how many of our SENDs it took in, and with
        "took", its session: [count, queued, token, session_queued]."""
        try:
            receipt = unpack(body) if body else {}
        except Exception:
            return
        if not isinstance(receipt, dict):
            return
        sends = self._sends
        # From the router we are in (not one lost, read as the connection
        # ended): a window still waited for has joined it, and had its say.
        settling = self._settling if self._state == "joined" else None
        for window, entry in receipt.items():
            if not isinstance(window, str):
                return
            if isinstance(entry, int) and entry >= 0:
                sends.confirmed(window, entry)
            elif _receipt_session(entry):
                count, queued, token, session_queued = entry
                sends.confirmed(window, count)
                sends.session(window, queued, token, session_queued)
            else:
                return  # malformed: the rest is not read (as the C client)
            if settling is not None and settling.back(window, self._report_account):
                self._settling = settling = None

    def _on_took(self, peer: bytes, body: bytes) -> None:
        """TOOK: a window back from the router we lost says what its session
        there took in of ours: {"token", "count", "first"}."""
        settling = self._settling
        if settling is None:
            return
        try:
            took = unpack(body)
            token, count, first = took.get("token", ""), took.get("count", 0), took.get("first", 0)
        except Exception:
            return
        if not (isinstance(token, str) and isinstance(count, int) and isinstance(first, int)
                and count >= 0 and first >= 0):
            return
        if settling.took(peer.decode("ascii", "replace"), token, count, first,
                         self._report_account):
            self._settling = None

    def _on_flow(self, peer: bytes, body: bytes) -> None:
        """FLOW: hold our messages to window PEER (its queue is full):
        {"hold": true}; or send to it again: an empty map. One read while
        we are not joined is about a session that has ended: ignored."""
        if self._state != "joined":
            return
        try:
            flow = unpack(body) if body else {}
        except Exception:
            return
        hold = flow.get("hold", False) if isinstance(flow, dict) else None
        if not isinstance(hold, bool):
            return  # malformed (as the C client)
        window = peer.decode("ascii", "replace")
        if hold:
            self._holding.add(window)
        else:
            self._holding.discard(window)

    def _count_in(self) -> None:
        if not self._counting:
            return
        self._consumed += 1
        if self._consumed - self._confirmed >= CREDIT_BATCH:
            self._grant()

    def _on_answer(self, cmd: int, msg_id: int, peer: bytes, body: bytes) -> None:
        source = peer.decode("ascii", "replace")
        if cmd == w.ERROR:
            try:
                code, text, app_code = unpack(body)
                if not isinstance(text, str):
                    text = str(text)
            except Exception:
                code, text, app_code = EPROTO, "malformed ERROR body", 0
            if msg_id & w.ONE_WAY:
                self._on_undelivered_error(msg_id, source, code, text, app_code)
                return
            if self._state == "joining" and msg_id == self._hello_id and not source:
                self._hello_error = error_from(code, text, app_code)
                if self._rejoining:
                    # refused (the name taken meanwhile...): tried again at the
                    # next reconnection; what the lost session took in, the
                    # router heard all the same
                    self._last = {}
                    self._state = "lost"
                    self._event_connection(False, self._hello_error)
                return
            pending = self._pending.get(msg_id)
            if pending is None or (source and source != pending.target):
                return
            if not source and code == EPROTO and "send HELLO first" in text and self._state == "joined":
                # our session has ended without our hearing its BYE "rejoin"
                pending._finish(None, error_from(code, text, app_code))
                self._lose(error_from(ECLOSED, "the router ended this session"), True)
                return
            pending._finish(None, error_from(code, text, app_code))
            return
        pending = self._pending.get(msg_id)
        if pending is None or source != pending.target:
            return
        if cmd == w.PROGRESS:
            if pending.progress is not None:
                pending.progress(unpack(body))
            return
        _finish_reply(pending, body)

    def _on_undelivered_error(self, msg_id: int, target: str, code: int, text: str, app_code: int) -> None:
        count = 1
        if msg_id == _REPORT_ID:
            count = max(1, app_code)
        # Before we are in again, about a SEND of the lost session (still
        # queued as the connection ended, refused by the next router): that
        # session's tally counts it as reported.
        self._sends.reported(target, count, 0 if msg_id == _REPORT_ID else msg_id)
        self._on_reported(msg_id, target, count, text)
        error = error_from(code, text, app_code)
        for _ in range(count if count < 100000 else 100000):
            self._event_undelivered(target, error)

    def _on_bye(self, msg_id: int, body: bytes) -> None:
        try:
            info = unpack(body) if body else {}
        except Exception:
            info = {}
        if self._state in ("closed", "closed_by_main"):
            return  # the answer to our BYE after main closed us
        if isinstance(info, dict) and info.get("rejoin"):
            self._lose(error_from(ECLOSED, "the router ended this session"), True)
        else:
            self._lose(error_from(ECLOSED, "the router is shutting down"), False)

    def _on_message(self, cmd: int, peer: bytes, body: bytes) -> None:
        text = peer.decode("ascii", "replace")
        sender, _, channel = text.partition("#")
        try:
            payload = unpack(body)
        except Exception:
            return
        message = Message(sender, payload, channel or None, cmd == w.BROADCAST)
        table = self._listeners_main if sender == MAIN else self._listeners_window
        for fn in list(table.get(channel or None, ())):
            fn(message)

    def _on_presence_msg(self, name: str, joined: bool, info: Dict[str, Any]) -> None:
        if self._on_presence is not None:
            self._on_presence(name, joined, info)

    def _on_reported(self, msg_id: int, target: str, count: int, text: str) -> None:
        """Subclasses: COUNT one-way messages to TARGET were reported undelivered."""

    def _on_other(self, cmd: int, msg_id: int, peer: bytes, body: bytes) -> None:
        """Subclasses: CLOSE, SHOW, HIDE, ACCOUNT."""

    def _on_monitor(self) -> None:
        try:
            event = parse_monitor_message(self._monitor.recv_multipart(zmq.NOBLOCK))["event"]
        except zmq.Again:
            return
        if event == zmq.EVENT_DISCONNECTED:
            self._lose(error_from(ECLOSED, "connection to the router lost"), False)
        elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            if self._state == "lost":
                self._send_hello()
        elif self._state == "joining" and not self._rejoining:
            self._hello_error = error_from(EACCES, "the router refused our CURVE handshake")

    def _event_undelivered(self, target: str, error: ProkitError) -> None:
        if self._on_undelivered is not None:
            self._on_undelivered(target, error)

    def _event_connection(self, connected: bool, error: Optional[ProkitError]) -> None:
        if self._on_connection is not None:
            self._on_connection(connected, error)

    # --- the loop --------------------------------------------------------------

    @staticmethod
    def _recv(sock: zmq.Socket, at: int) -> List[bytes]:
        """One message (raises zmq.Again if none). A version 2 frame with
        bytes after its peer is the whole message; anything else may have
        more frames. AT: where the prokit frame starts (8 on the channel)."""
        first = sock.recv(_NOBLOCK)
        if len(first) > at + 5 and first[at + 2] == 2:
            n = first[at + 4] & 0x0F
            if len(first) > at + 5 + n and len(first) > at + 6 + n + first[at + 5 + n]:
                return [first]
        frames = [first]
        while sock.rcvmore:
            frames.append(sock.recv(_NOBLOCK))
        return frames

    def _next_on_channel(self, sub: zmq.Socket) -> Tuple[List[bytes], int]:
        """The next message of the channel (raises zmq.Again if none), and
        where its prokit frame starts: the next entry of the BATCH in hand
        (0: no topic, the BATCH's was ours), else the SUB's next message
        (8), a BATCH read there taken in hand and its first entry given
        (as the C client's transport, s_receive)."""
        while True:
            if self._batch is not None:
                entry = self._batch_next()
                if entry is not None:
                    return [entry], 0
            frames = self._recv(sub, 8)
            if frames[0][8:12] != _BATCH_HEAD or not self._batch_begin(frames):
                return frames, 8

    def _batch_begin(self, frames: List[bytes]) -> bool:
        """FRAMES, read from the channel, begin with a BATCH's header: take
        it in hand, to hand on its entries one by one (none of a BATCH not
        ours, or malformed: a BATCH is one frame, no peer, its body at most
        BATCH_MAX). True: FRAMES are done with."""
        if frames[0][:8] != self._topic_bytes:
            return True
        try:
            _, _, peer, body = w.decode(frames, 8)
        except ValueError:
            peer, body = b"?", b""  # malformed as any channel message
        if len(frames) != 1 or peer or len(body) > w.BATCH_MAX:
            _log.warning("%s: dropped a malformed BATCH from the router", self.name)
            return True
        self._batches_read += 1
        self._batch, self._batch_at = body, 0
        return True

    def _batch_next(self) -> Optional[bytes]:
        """The next entry of the BATCH in hand, or None when it has no more
        (then, or when the rest is malformed and dropped, it is let go)."""
        batch = self._batch
        assert batch is not None
        try:
            entry = w.batch_next(batch, self._batch_at)
        except ValueError as e:
            _log.warning("%s: dropped the rest of a BATCH from the router (malformed: %s)",
                         self.name, e)
            entry = None
        if entry is None:
            self._batch = None
            return None
        frame, self._batch_at = entry
        self._batch_entries += 1
        return frame

    def _pump(self, timeout: int, done: Optional[Callable[[], bool]]) -> int:
        """Wait up to TIMEOUT ms for something to arrive, then handle what
        has: the DEALER's and the SUB's messages (in batches, until DONE()
        holds), the monitor only when neither had any (what arrived before a
        loss is handed on before the loss). Returns the number handled."""
        handled = 0
        if self._early and self._state == "joined" and not self._pause_after_join:
            handled = self._replay()
            if done is not None and done():
                return handled
            timeout = 0
        if self._batch is not None:
            timeout = 0  # the rest of a BATCH waits in hand, not on the socket
        ready = zmq.zmq_poll(self._poll_items, timeout)
        sub = self._sub
        if self._batch is not None and sub is not None and not any(s is sub for s, _ in ready):
            ready = list(ready) + [(sub, _POLLIN)]
        if not ready:
            if self._counting:
                self._grant_idle()
            return handled
        sock, monitor = self._sock, self._monitor
        messages = False
        for socket, _ in ready:
            if socket is monitor:
                continue
            messages = True
            on_sub = socket is sub
            while self._state != "closed" and (socket is sock or socket is self._sub):
                try:
                    if on_sub:
                        frames, at = self._next_on_channel(socket)
                    else:
                        frames = self._recv(socket, 0)
                except zmq.Again:
                    break
                handled += 1
                if on_sub:
                    self._handle_sub(frames, at)
                else:
                    self._handle(frames)
                if self._pause_after_join and self._state != "joining":
                    return handled  # what follows the join waits for the application's callbacks
                if done is not None and done():
                    return handled
        if not messages and monitor is not None and self._state != "closed":
            self._on_monitor()
            handled += 1
        if self._counting:
            self._grant_idle()  # all that had come is handed on
        return handled

    def _drain(self) -> int:
        """Handle everything that has arrived, without blocking."""
        total = 0
        while self._state != "closed":
            n = self._pump(0, None)
            if n == 0:
                break
            total += n
            if self._pause_after_join and self._state != "joining":
                break
        return total

    def _wait(self, done: Callable[[], bool], deadline_ms: Optional[float]) -> None:
        """Dispatch until DONE() or DEADLINE_MS (None: until DONE or stop())."""
        while True:
            nearest = (self._expire() if self._pending or self._settling is not None
                       or self._accounts or self._credit_due else None)
            if done() or self._state == "closed" or self._stop.is_set():
                return
            now = _now_ms()
            if deadline_ms is not None and now >= deadline_ms:
                return
            limit = _SLICE_MS
            if deadline_ms is not None and deadline_ms - now < limit:
                limit = deadline_ms - now
            if nearest is not None and nearest - now < limit:
                limit = nearest - now
            self._pump(max(0, int(limit + 0.999)), done)

    def wait_for(self, predicate: Callable[[], bool], timeout: Optional[int] = None) -> bool:
        """Dispatch until PREDICATE() is true (returns True) or TIMEOUT ms
        pass (returns False): e.g. to wait for requests made with
        :meth:`request_async`."""
        self._wait(predicate, None if timeout is None else _now_ms() + timeout)
        return bool(predicate())

    def dispatch(self) -> int:
        """Handle whatever is pending without blocking, running callbacks.
        Returns the number of events handled."""
        n = self._drain()
        self._expire()
        return n

    @property
    def fd(self) -> int:
        """A descriptor that polls readable when :meth:`dispatch` has work (as
        a zmq socket's FD: edge-triggered; call dispatch() until it returns 0)."""
        return self._sock.getsockopt(zmq.FD)

    def run(self, timeout: Optional[int] = None) -> None:
        """Dispatch until :meth:`stop`, the handle closes, or TIMEOUT ms pass."""
        self._stop.clear()
        deadline = None if timeout is None or timeout < 0 else _now_ms() + timeout
        self._wait(lambda: self._stop.is_set() or self._run_done(), deadline)

    def _run_done(self) -> bool:
        return False

    def stop(self) -> None:
        """Make :meth:`run` return. Safe from any thread and a signal handler
        (within 250 ms)."""
        self._stop.set()

    @property
    def is_connected(self) -> bool:
        """True while joined."""
        return self._state == "joined"

    # --- closing ---------------------------------------------------------------

    def close(self, linger: Optional[int] = None) -> None:
        """Leave (BYE, saying what we took in; requests still in flight end with
        ClosedError) and close the sockets. Idempotent."""
        if self._state == "closed":
            return
        if linger != 0 and self._state == "joined":
            self._leave()
        for pending in list(self._pending.values()):
            pending._finish(None, error_from(ECLOSED, "the handle was closed"))
        self._state = "closed"
        self._holding.clear()
        self._close_sockets()

    def _leave(self) -> None:
        counts = self._counts()
        bye_id = 0
        try:
            self._send(w.BYE, bye_id, b"", pack(counts))
        except ProkitError:
            return
        deadline = _now_ms() + BYE_WAIT_MS
        sock = self._sock
        while True:
            left = deadline - _now_ms()
            if left <= 0 or not sock.poll(int(left) + 1):
                return
            try:
                frames = sock.recv_multipart(zmq.NOBLOCK)
                cmd, msg_id, peer, body = w.decode(frames)
            except (zmq.Again, ValueError):
                continue
            if cmd == w.BYE:
                return
            if cmd == w.REQUEST:
                sender = peer.decode("ascii", "replace").partition("#")[0].partition("!")[0]
                self._send(w.ERROR, msg_id, sender.encode(),
                           pack([ECLOSED, f"window '{self.name}' is closing", 0]))

    def _close_sockets(self) -> None:
        self._close_sub()
        if self._monitor is not None:
            try:
                self._sock.disable_monitor()
            except zmq.ZMQError:
                pass
            self._monitor.close(0)
            self._monitor = None
        self._sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if self._state != "closed":
                self.close(linger=0)
        except Exception:
            pass
