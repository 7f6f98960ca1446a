"""One Consumer's forwarding step for a batch of packets, on one of two paths (issue 17).

For each packet of its source (its header extension ids already translated for the
consumer, as :meth:`sfu.consumer.Consumer.forward` receives them): map its sequence
number and timestamp onto the consumer's continuous stream
(:meth:`sfu.rtp_rewrite.SequenceMapper.map`; a packet before the switch point is
dropped), write payload type, sequence number, timestamp and SSRC (RFC 3550 section
5.1), make the VP8 PictureID and TL0PICIDX continuous (RFC 7741 section 4.2,
:meth:`~sfu.rtp_rewrite.SequenceMapper.rewrite_vp8_at`), SRTP-protect (RFC 3711) and send.

- :class:`PythonPath`: those steps as ``Consumer.forward`` does them, with a
  ``pylibsrtp.Session`` and one ``sendto`` per packet;
- :class:`NativePath`: the same in C (``sfu._forward``, built from ``sfu/_forward.c`` by
  ``setup.py`` against libsrtp2), the batch sent with one ``sendmmsg``.

Both take the same :class:`~sfu.rtp_rewrite.SequenceMapper` (the control plane keeps
switching it in Python) and give the same :class:`BatchResult`; they put the same bytes
on the wire (``tests/sfu/test_native_forwarding.py``). :func:`forwarding_path` picks one
from a setting: ``"native"``, ``"python"``, or ``"auto"`` (native when the extension was
built). ``python -m bench.forwarding`` measures both (docs/performance.md).

The Router, when ``RouterConfig.forwarding`` gives its connections a native session,
forwards each packet of a Producer to all its consumers in steady state with ONE call,
:data:`fan_out` (``sfu._forward.fanout``, :meth:`sfu.consumer.Consumer.fan_out`): per
consumer a job ``(sender, direct, mapper, body, payload_type, ssrc)``, per job a
:data:`Status`, a history entry and, for :data:`HANDOFF`, the protected datagram for its
transport's queue. The per-packet rewrite in C is one function both calls use
(``forward_step`` in sfu/_forward.c).
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pylibsrtp
from pylibsrtp import Policy, Session

from .rtp_rewrite import SequenceMapper
from .transport.srtp import policy

try:
    from . import _forward as native
except ImportError:  # built without a compiler or libsrtp2's headers: the Python path
    native = None  # type: ignore[assignment]

SETTINGS = ("auto", "native", "python")

#: (out_seq, seq, out_ts, PictureID offset, TL0PICIDX offset): what a Consumer's NACK
#: history records of each packet sent
Entry = tuple[int, int, int, int, int]
#: a VP8 descriptor already parsed: (PictureID offset, its width in bits, TL0PICIDX
#: offset), -1 for an absent field (:func:`sfu.rtp_rewrite.vp8_descriptor`)
Vp8 = tuple[int, int, int] | None

_SEQ_TS = struct.Struct("!HI")
_SEQ_TS_SSRC = struct.Struct("!HII")


@dataclass(frozen=True, slots=True)
class BatchResult:
    #: per packet: its history entry, or None when it was before the switch point
    entries: list[Entry | None]
    sent: int  # datagrams the kernel took
    octets: int  # their size before SRTP (as Consumer.octets_sent counts)
    refused: int  # SRTP refused them (longer than pylibsrtp's 1356 bytes, replay)
    unsent: int  # the socket was full or refused them


#: what became of one job of :data:`fan_out` (the byte ``statuses[i]``), as sfu._forward
#: numbers them: sent directly; before the mapper's switch point (no entry, nothing sent);
#: refused by libsrtp (a replay: ``srtp_refused``); longer than pylibsrtp protects
#: (``send_error``, as the Python path counts it); protected but to be handed to the
#: transport (not direct, or the socket did not take it: EAGAIN and other errors)
SENT, BEFORE_SWITCH, SRTP_REFUSED, TOO_LONG, HANDOFF = range(5)
#: ``sfu._forward.fanout(jobs, vp8, now) -> (statuses, entries, datagrams)``, or None
fan_out = None if native is None else native.fanout
if native is not None and (native.SENT, native.BEFORE_SWITCH, native.SRTP_REFUSED, native.TOO_LONG, native.HANDOFF) != (
    SENT,
    BEFORE_SWITCH,
    SRTP_REFUSED,
    TOO_LONG,
    HANDOFF,
):
    raise ImportError("sfu._forward's statuses are not sfu.forwarding's: rebuild it (make install-test)")


def native_available() -> bool:
    return native is not None


class PythonPath:
    """The per-packet path: what ``Consumer.forward`` does today."""

    name = "python"

    def __init__(self, libsrtp_profile: int, key_and_salt: bytes) -> None:
        self.tx = Session(policy(libsrtp_profile, key_and_salt, Policy.SSRC_ANY_OUTBOUND))

    def forward(
        self,
        sock: socket.socket,
        address: tuple[Any, ...],
        mapper: SequenceMapper,
        packets: Sequence[bytes | bytearray],
        vp8: Sequence[Vp8],
        payload_type: int,
        ssrc: int,
        now: float,
    ) -> BatchResult:
        if len(vp8) != len(packets):
            raise ValueError("one vp8 entry per packet")
        entries: list[Entry | None] = []
        sent = octets = refused = unsent = 0
        protect = self.tx.protect
        for body, descriptor in zip(packets, vp8):
            seq, ts = _SEQ_TS.unpack_from(body, 2)
            mapped = mapper.map(seq, ts, now)
            if mapped is None:
                entries.append(None)
                continue
            out_seq, out_ts = mapped
            buf = bytearray(body)
            buf[1] = (buf[1] & 0x80) | payload_type
            _SEQ_TS_SSRC.pack_into(buf, 2, out_seq, out_ts, ssrc)
            if descriptor is not None:
                pid_off, tl0_off = mapper.rewrite_vp8_at(buf, *descriptor)
            else:
                pid_off = tl0_off = 0
            entries.append((out_seq, seq, out_ts, pid_off, tl0_off))
            try:
                data = protect(bytes(buf))
            except (pylibsrtp.Error, ValueError):
                refused += 1
                continue
            try:
                sock.sendto(data, address)
            except OSError:  # BlockingIOError: full; ConnectionRefusedError: an ICMP error
                unsent += 1
                continue
            sent += 1
            octets += len(buf)
        return BatchResult(entries, sent, octets, refused, unsent)


class NativePath:
    """The same step in C, the batch sent with one ``sendmmsg``."""

    name = "native"

    def __init__(self, libsrtp_profile: int, key_and_salt: bytes) -> None:
        if native is None:
            raise RuntimeError("sfu._forward was not built (C compiler, python3-dev, libsrtp2-dev)")
        self.sender = native.Sender(libsrtp_profile, key_and_salt)

    def forward(
        self,
        sock: socket.socket,
        address: tuple[Any, ...],
        mapper: SequenceMapper,
        packets: Sequence[bytes | bytearray],
        vp8: Sequence[Vp8],
        payload_type: int,
        ssrc: int,
        now: float,
    ) -> BatchResult:
        entries, sent, octets, refused, unsent = self.sender.forward(
            sock.fileno(), address, mapper, packets, vp8, payload_type, ssrc, now
        )
        return BatchResult(entries, sent, octets, refused, unsent)


def forwarding_path(setting: str, libsrtp_profile: int, key_and_salt: bytes) -> PythonPath | NativePath:
    """The path a setting selects: ``"native"`` (an error when the extension is
    absent), ``"python"``, or ``"auto"`` (native when built, else Python)."""
    if setting not in SETTINGS:
        raise ValueError(f"forwarding must be one of {', '.join(SETTINGS)}, not {setting!r}")
    if setting == "python" or (setting == "auto" and native is None):
        return PythonPath(libsrtp_profile, key_and_salt)
    return NativePath(libsrtp_profile, key_and_salt)
