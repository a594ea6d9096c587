"""The wire format of docs/PROTOCOL.md sections 2 and 3: versions 1 and 2."""
from __future__ import annotations

import struct
from typing import List, Optional, Tuple

HELLO, WELCOME, BYE, SEND, BROADCAST, REQUEST, REPLY, ERROR = range(1, 9)
PING, PONG, JOINED, LEFT, CLOSE, SHOW, HIDE, QUERY, INFO = range(9, 18)
CREDIT, RECEIPT, ACCOUNT, PROGRESS, CANCEL, TOOK, FLOW, BATCH = range(18, 26)
LAST = BATCH                # a command past it is unknown: dropped (still counted)

NAMES = {
    HELLO: "HELLO", WELCOME: "WELCOME", BYE: "BYE", SEND: "SEND", BROADCAST: "BROADCAST",
    REQUEST: "REQUEST", REPLY: "REPLY", ERROR: "ERROR", PING: "PING", PONG: "PONG",
    JOINED: "JOINED", LEFT: "LEFT", CLOSE: "CLOSE", SHOW: "SHOW", HIDE: "HIDE",
    QUERY: "QUERY", INFO: "INFO", CREDIT: "CREDIT", RECEIPT: "RECEIPT", ACCOUNT: "ACCOUNT",
    PROGRESS: "PROGRESS", CANCEL: "CANCEL", TOOK: "TOOK", FLOW: "FLOW", BATCH: "BATCH",
}

ONE_WAY = 1 << 63           # bit 63: the id of a one-way message
INLINE_MAX = 4096           # bodies up to this size travel inside the first frame
PEER_MAX = 150              # a peer field with a channel and a deadline
NAME_MAX = 64
BATCH_HEAD = 2              # a BATCH entry's big-endian length
BATCH_MAX = 8192            # a BATCH's body at most (the router keeps within it)

_V1 = struct.Struct(">2sBBQ")


def encode_v1(command: int, msg_id: int, peer: bytes = b"", body: bytes = b"") -> List[bytes]:
    """Version 1: three frames, a 12-byte big-endian header."""
    return [_V1.pack(b"PK", 1, command, msg_id), peer, body]


def _prefix_v2(command: int, msg_id: int, peer: bytes) -> bytes:
    """A version 2 first frame up to its body: header, peer length, peer."""
    rest = msg_id & (ONE_WAY - 1)
    n = (rest.bit_length() + 7) >> 3
    head = (0x80 if msg_id & ONE_WAY else 0) | n
    return b"PK\x02" + bytes((command, head)) + rest.to_bytes(n, "big") + bytes((len(peer),)) + peer


def encode_v2(command: int, msg_id: int, peer: bytes = b"", body: bytes = b"") -> List[bytes]:
    """Version 2: one frame (two when the body is over 4096 bytes)."""
    first = _prefix_v2(command, msg_id, peer)
    if len(body) > INLINE_MAX:
        return [first, body]
    return [first + body]


def decode(frames: List[bytes], at: int = 0) -> Tuple[int, int, bytes, bytes]:
    """A message in either version -> (command, id, peer, body); the prokit
    frame starts AT bytes into the first frame (8 on the PUB channel, after
    the topic). Raises ValueError for anything malformed (the caller drops it)."""
    first = frames[0]
    version = first[at + 2] if len(first) > at + 2 and first[at:at + 2] == b"PK" else 0
    if version == 2:
        if len(first) < at + 6 or len(frames) > 2:
            raise ValueError("malformed version 2 message")
        head = first[at + 4]
        n = head & 0x0F
        if head & 0x70 or n > 8 or len(first) < at + 6 + n or (n == 8 and first[at + 5] & 0x80):
            raise ValueError("bad id head")
        msg_id = int.from_bytes(first[at + 5:at + 5 + n], "big") if n else 0
        if head & 0x80:
            msg_id |= ONE_WAY
        size = first[at + 5 + n]
        start = at + 6 + n
        end = start + size
        if size > PEER_MAX or end > len(first) or (len(frames) == 2 and end != len(first)):
            raise ValueError("bad peer")
        cmd = first[at + 3]
        peer = first[start:end]
        body = frames[1] if len(frames) == 2 else first[end:]
    elif version == 1:
        if len(first) != at + 12 or len(frames) != 3:
            raise ValueError("malformed version 1 message")
        _, _, cmd, msg_id = _V1.unpack_from(first, at)
        peer, body = frames[1], frames[2]
    else:
        raise ValueError("not a prokit message")
    if not 1 <= cmd <= LAST or len(peer) > PEER_MAX:
        raise ValueError("bad command or peer")
    return cmd, msg_id, peer, body


# BATCH, router -> a window whose HELLO said "batch", on the PUB channel
# only: several of main's messages in one frame (its topic, then a version 2
# BATCH with an empty peer), for a window that is behind. Its body is a run
# of entries, each a 2-byte big-endian length and that many bytes: one
# channel message as it would travel alone, without its topic (a version 2
# first frame with its body inline). An entry is never itself a BATCH.


def batch_entry(command: int, msg_id: int, peer: bytes = b"", body: bytes = b"") -> bytes:
    """One entry of a BATCH's body, as the router writes them
    (``proto_batch_entry_encode()``): the tests build BATCHes with it."""
    frame = _prefix_v2(command, msg_id, peer) + body
    if len(frame) > 0xFFFF:
        raise ValueError("a BATCH entry holds at most 65535 bytes")
    return len(frame).to_bytes(BATCH_HEAD, "big") + frame


def batch_next(body: bytes, offset: int) -> Optional[Tuple[bytes, int]]:
    """The entry of a BATCH's BODY at OFFSET (``proto_batch_next()``): the
    channel message it holds, to decode as one frame with no topic
    (``decode([entry])``), and where the next entry starts; None at the end
    of the body. Raises ValueError when what is left is not an entry (a
    length of 0, one running past the body, a cut-short length, another
    BATCH): the rest of the BATCH is dropped, what came before stands."""
    size = len(body)
    if offset == size:
        return None
    if offset > size or size - offset < BATCH_HEAD:
        raise ValueError("a BATCH entry's length cut short")
    length = (body[offset] << 8) | body[offset + 1]
    start = offset + BATCH_HEAD
    if length == 0 or length > size - start:
        raise ValueError("a BATCH entry of no bytes, or running past the BATCH")
    # Decoded as a channel message of its own, except that it may not hold
    # another BATCH.
    if length > 3 and body[start + 3] == BATCH:
        raise ValueError("a BATCH inside a BATCH")
    end = start + length
    return body[start:end], end
