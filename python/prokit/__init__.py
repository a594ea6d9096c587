"""prokit: electron-prokit's IPC model (one main process, named windows,
requests, sends, broadcasts, presence) on ZeroMQ, in Python.

A pure-Python client of the prokit wire protocol (docs/PROTOCOL.md), on
pyzmq and msgpack: :class:`Window` joins a main (C or Python) or a broker,
:class:`Main` is main attached to a broker. :mod:`prokit.asyncio` has the
same classes for asyncio.
"""
from ._client import MAIN, Message, PendingRequest, Request, resolve_endpoint, valid_name
from ._api import Main, Window
from .errors import (
    AccessError, AgainError, CancelledError, ClosedError, ExistsError, HandlerError,
    InvalidError, LimitError, NoHandlerError, NotFoundError, ProkitError, ProtocolError,
    TimedOutError, TooBigError, TransportError, UnconfirmedError, error_from, error_name,
    strerror,
)

__version__ = "0.1.0"

__all__ = [
    "MAIN", "Main", "Window", "Message", "Request", "PendingRequest", "resolve_endpoint",
    "valid_name", "ProkitError", "AccessError", "AgainError", "CancelledError", "ClosedError",
    "ExistsError", "HandlerError", "InvalidError", "LimitError", "NoHandlerError",
    "NotFoundError", "ProtocolError", "TimedOutError", "TooBigError", "TransportError",
    "UnconfirmedError", "error_from", "error_name", "strerror",
]
