"""Which VP8 temporal layers a consumer forwards (RFC 7741 section 4.2).

A VP8 encoder with temporal layers (Chromium's ``L1T3``: TID 0 at a quarter of the
frame rate, TID 1 adding the next quarter, TID 2 the other half) marks each packet
with its TID; a frame of TID *t* refers only to frames of TID ≤ *t*, so a receiver
given the frames up to some TID decodes them all, at a lower frame rate.

:class:`TemporalFilter` holds a consumer's ``target`` (the TID its allocation grants,
:data:`TOP_TEMPORAL` for every layer) and the TID it forwards ``now``:

- *down*: at the next frame start, at once (nothing refers to a frame of a higher TID
  from a lower one: the frames left out are never needed);
- *up*: only where the stream allows it, as mediasoup's VP8 ``ProcessRtpPacket`` does:
  at a key frame (every layer starts again from it), or one layer at a time at a frame
  of the next TID with the layer-sync bit Y (it refers to TL0 frames only). A TL1
  frame of Chromium's pattern refers to the previous TL1 frame (the golden buffer): a
  TL0 frame alone is not a point to go up at, nor a TL2 sync frame for TL1 (the TL1
  frames after it would refer to a TL1 frame the receiver never got). Chromium marks
  about half its TL1 and a quarter of its TL2 frames with Y (measured: a kiosk at 16
  frames/s), so going up takes a fraction of a second.

The consumer then leaves out the packets whose TID is above ``now``, its
:class:`sfu.rtp_rewrite.SequenceMapper` skipping their numbers (no loss seen, no
PictureID gap). A packet without a TID (no T bit) is always forwarded.
"""

from __future__ import annotations

from .bandwidth import TOP_TEMPORAL
from .rtp_rewrite import TEMPORAL_START, TEMPORAL_SYNC, TID_MASK


class TemporalFilter:
    """The temporal layers one consumer forwards (see the module's docstring)."""

    __slots__ = ("held", "now", "target", "up_since")

    def __init__(self) -> None:
        self.target = TOP_TEMPORAL
        self.now = TOP_TEMPORAL
        #: packets the target grants but left out since the last :meth:`stalled` (no
        #: frame to go up at yet), and since when that lasts (None: not waiting)
        self.held = 0
        self.up_since: float | None = None

    def set_target(self, target: int) -> None:
        """The TID the allocation grants (clamped to 0..:data:`TOP_TEMPORAL`)."""
        self.target = max(0, min(TOP_TEMPORAL, target))

    def restart(self) -> None:
        """A new source, or a resume, begins on a key frame: every layer up to the target."""
        self.now = self.target
        self.held = 0
        self.up_since = None

    def stalled(self, at: float, wait_s: float) -> bool:
        """Called at each tick: whether the layers the target grants have been held back
        for ``wait_s`` without a frame to go up at (the caller then asks the publisher
        for a key frame; the wait starts again)."""
        if not self.held:
            self.up_since = None
            return False
        self.held = 0
        if self.up_since is None:
            self.up_since = at
        elif at - self.up_since >= wait_s:
            self.up_since = at
            return True
        return False

    def keep(self, temporal: int, keyframe: bool) -> bool:
        """Whether to forward a packet whose :func:`sfu.rtp_rewrite.vp8_temporal` is
        ``temporal`` (-1: no TID) and which ``keyframe`` begins or not."""
        if temporal < 0:
            return True
        tid = temporal & TID_MASK
        if keyframe:  # every layer starts again from it (and it is always forwarded)
            self.now = self.target
            return True
        if temporal & TEMPORAL_START:
            now, target = self.now, self.target
            if target < now:
                self.now = target
            elif target > now and temporal & TEMPORAL_SYNC and tid == now + 1:
                self.now = tid
        if tid <= self.now:
            return True
        if tid <= self.target:
            self.held += 1
        return False
