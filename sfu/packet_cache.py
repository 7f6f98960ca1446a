"""A short per-producer cache of forwarded RTP packets, to answer NACKs.

Generic NACK (RFC 4585 section 6.2.1) asks for packets by sequence number; the
consumer maps its own sequence numbers back to the source's and looks them up here.
A ring buffer indexed by ``seq % size``: O(1) insert and lookup, bounded memory, and
an entry is only returned when its full sequence number matches (so a slot reused by
a later wrap of the counter is never mistaken for the old packet).
"""

from __future__ import annotations


class PacketCache:
    """Ring buffer of the last ``size`` packets of one source, keyed by sequence."""

    __slots__ = ("_mask", "_packets", "_seqs", "_size", "_times", "max_age")

    def __init__(self, size: int = 512, max_age: float = 1.0) -> None:
        if size <= 0 or size & (size - 1):
            raise ValueError("size must be a power of two")
        self._size = size
        self._mask = size - 1
        self._seqs = [-1] * size
        self._packets: list[bytes | None] = [None] * size
        self._times = [0.0] * size
        self.max_age = max_age

    def __len__(self) -> int:
        return sum(1 for p in self._packets if p is not None)

    def put(self, seq: int, packet: bytes, now: float) -> None:
        i = seq & self._mask
        self._seqs[i] = seq
        self._packets[i] = packet
        self._times[i] = now

    def get(self, seq: int, now: float | None = None) -> bytes | None:
        """The packet with this sequence number, if still cached (and not too old)."""
        i = seq & self._mask
        if self._seqs[i] != seq:
            return None
        if now is not None and now - self._times[i] > self.max_age:
            return None
        return self._packets[i]

    def clear(self) -> None:
        self._seqs = [-1] * self._size
        self._packets = [None] * self._size
