"""prokit's errors: one exception class carrying the prokit error code.

Every failure is a :class:`ProkitError` with ``code`` (the negative prokit
error code, as in ``include/prokit/error.h``), ``name`` (``"PROKIT_ENOTFOUND"``),
``text`` (what the router, the peer or this library said) and ``app_code``
(the handler's own code with ``PROKIT_EHANDLER``, else 0). The common cases
have subclasses, so that ``except prokit.NotFoundError`` reads as it should.
"""
from __future__ import annotations

import builtins
from typing import Dict, Tuple, Type

OK = 0
EINVAL = -1
ENOMEM = -2
ENOTFOUND = -3
EEXIST = -4
ETIMEDOUT = -5
ENOHANDLER = -6
EHANDLER = -7
ECLOSED = -8
ETOOBIG = -9
EPROTO = -10
EVERSION = -11
EAGAIN = -12
EACCES = -13
ETRANSPORT = -14
ESPAWN = -15
EEXITED = -16
ENOFILE = -17
ELIMIT = -18
ECANCELED = -19
#: An undelivered report whose receiver (or the router) was lost before it
#: could say what it took in: the message may have arrived.
EUNCONFIRMED = -20

#: code -> (name, text), as src/error.c has them.
ERRORS: Dict[int, Tuple[str, str]] = {
    OK: ("PROKIT_OK", "success"),
    EINVAL: ("PROKIT_EINVAL", "invalid argument"),
    ENOMEM: ("PROKIT_ENOMEM", "out of memory"),
    ENOTFOUND: ("PROKIT_ENOTFOUND", "no such window"),
    EEXIST: ("PROKIT_EEXIST", "name already taken"),
    ETIMEDOUT: ("PROKIT_ETIMEDOUT", "timed out"),
    ENOHANDLER: ("PROKIT_ENOHANDLER", "no request handler"),
    EHANDLER: ("PROKIT_EHANDLER", "request handler failed"),
    ECLOSED: ("PROKIT_ECLOSED", "connection closed"),
    ETOOBIG: ("PROKIT_ETOOBIG", "payload too large"),
    EPROTO: ("PROKIT_EPROTO", "protocol error"),
    EVERSION: ("PROKIT_EVERSION", "unsupported protocol version"),
    EAGAIN: ("PROKIT_EAGAIN", "queue full, try again"),
    EACCES: ("PROKIT_EACCES", "permission denied"),
    ETRANSPORT: ("PROKIT_ETRANSPORT", "transport error"),
    ESPAWN: ("PROKIT_ESPAWN", "window process could not be started"),
    EEXITED: ("PROKIT_EEXITED", "window process exited before joining"),
    ENOFILE: ("PROKIT_ENOFILE", "out of file descriptors or sockets"),
    ELIMIT: ("PROKIT_ELIMIT", "a configured limit was reached"),
    ECANCELED: ("PROKIT_ECANCELED", "the request was cancelled"),
    EUNCONFIRMED: ("PROKIT_EUNCONFIRMED",
                   "the receiver was lost before confirming it: it may have taken it in"),
}


def error_name(code: int) -> str:
    """``prokit_error_name()``: the name of CODE, ``"PROKIT_E?"`` if unknown."""
    return ERRORS.get(code, ("PROKIT_E?", ""))[0]


def strerror(code: int) -> str:
    """``prokit_strerror()``: the generic text of CODE."""
    return ERRORS.get(code, ("", "unknown error"))[1]


class ProkitError(Exception):
    """A prokit failure: ``code``, ``name``, ``text``, ``app_code``."""

    code: int
    name: str
    text: str
    app_code: int

    def __init__(self, code: int, text: str = "", app_code: int = 0) -> None:
        self.code = code
        self.name = error_name(code)
        self.text = text or strerror(code)
        self.app_code = app_code
        super().__init__(code, self.text, app_code)

    def __str__(self) -> str:
        extra = f" (app code {self.app_code})" if self.app_code else ""
        return f"{self.name}: {self.text}{extra}"


class InvalidError(ProkitError, ValueError):
    """PROKIT_EINVAL: an invalid argument."""


class NotFoundError(ProkitError, LookupError):
    """PROKIT_ENOTFOUND: no window (or main, or pool) of that name has joined."""


class ExistsError(ProkitError):
    """PROKIT_EEXIST: the name, or the main role, is taken."""


class TimedOutError(ProkitError, builtins.TimeoutError):
    """PROKIT_ETIMEDOUT: no answer (or no join) within the deadline."""


class NoHandlerError(ProkitError):
    """PROKIT_ENOHANDLER: the receiver has no handler (for that channel)."""


class HandlerError(ProkitError):
    """PROKIT_EHANDLER: the receiver's handler failed; ``app_code`` and
    ``text`` are the handler's.

    Raise it from a request handler to fail the request with your own code:
    ``raise HandlerError(app_code=42, text="no such file")``.
    """

    def __init__(self, text: str = "", app_code: int = 0, code: int = EHANDLER) -> None:
        super().__init__(code, text, app_code)


class ClosedError(ProkitError, ConnectionError):
    """PROKIT_ECLOSED: the connection or the handle was closed (or the peer
    left before answering)."""


class TooBigError(ProkitError):
    """PROKIT_ETOOBIG: the payload is larger than the limit."""


class ProtocolError(ProkitError):
    """PROKIT_EPROTO / PROKIT_EVERSION: a malformed message."""


class AgainError(ProkitError):
    """PROKIT_EAGAIN: a queue is full, nothing was sent: try again."""


class AccessError(ProkitError, PermissionError):
    """PROKIT_EACCES: not allowed (access list, broadcast from a window, ...)."""


class TransportError(ProkitError, OSError):
    """PROKIT_ETRANSPORT: the endpoint cannot be used."""


class LimitError(ProkitError):
    """PROKIT_ELIMIT: a configured limit of the router was reached."""


class CancelledError(ProkitError):
    """PROKIT_ECANCELED: the request was cancelled by its requester."""


class UnconfirmedError(ProkitError):
    """PROKIT_EUNCONFIRMED: reported undelivered, but the receiver (or the
    router) was lost before it could say what it took in: the message may
    have arrived. Every undelivered report with another code is of a
    message that certainly did not."""


_CLASSES: Dict[int, Type[ProkitError]] = {
    EINVAL: InvalidError,
    ENOTFOUND: NotFoundError,
    EEXIST: ExistsError,
    ETIMEDOUT: TimedOutError,
    ENOHANDLER: NoHandlerError,
    ECLOSED: ClosedError,
    ETOOBIG: TooBigError,
    EPROTO: ProtocolError,
    EVERSION: ProtocolError,
    EAGAIN: AgainError,
    EACCES: AccessError,
    ETRANSPORT: TransportError,
    ELIMIT: LimitError,
    ECANCELED: CancelledError,
    EUNCONFIRMED: UnconfirmedError,
}


def error_from(code: int, text: str = "", app_code: int = 0) -> ProkitError:
    """The exception for CODE: its subclass, or ProkitError itself."""
    if code == EHANDLER:
        return HandlerError(text, app_code)
    cls = _CLASSES.get(code, ProkitError)
    return cls(code, text, app_code)
