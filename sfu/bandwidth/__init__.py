"""Bandwidth logic of the media plane, pure (no I/O, no asyncio, no clock of its own:
every call takes the caller's ``now``) and importing nothing of Séance but itself.

- :mod:`.types`: the inputs — feedback samples (REMB, receiver-report loss, RTT, bytes
  sent), the layers measured per producer, a subscriber's video slots and priorities;
- :mod:`.estimator`: a subscriber's downlink estimate (loss-based controller capped by
  the receiver's REMB, as libwebrtc's send side in mediasoup and Galène's down tracks);
- :mod:`.allocator`: spending a subscriber's budget — audio first, then the
  president's/pinned slot, the speaker, the others; layers lowered, then slots paused;
  raised again with hysteresis and probing (LiveKit's stream allocator, mediasoup);
- :mod:`.demand`: what each publisher must send (highest layer needed, encodings
  switched off at the source as LiveKit's dynacast, the REMB to send it);
- :mod:`.uplink_fit`: a simulcast publisher whose uplink loses sheds its larger
  encodings, one at a time, before the R3 fallback judges its smallest one;
- :mod:`.fallback`: a salle's automatic audio-only switch (R3) and its return.

docs/media.md ("Bandwidth") says which SFU each choice follows and why.
"""

from .allocator import Allocation, Allocator, AllocatorSettings
from .demand import Demand, DemandSettings, UplinkDemand
from .estimator import DownlinkEstimator, EstimatorSettings
from .fallback import FallbackMachine, FallbackSettings, LinkSample, State, Switch
from .types import (
    TOP_TEMPORAL,
    Assignment,
    BytesSent,
    Layer,
    LossReport,
    ProducerLayers,
    Remb,
    RttSample,
    VideoSlot,
)
from .uplink_fit import UplinkFit, UplinkFitSettings

__all__ = [
    "TOP_TEMPORAL",
    "Allocation",
    "Allocator",
    "AllocatorSettings",
    "Assignment",
    "BytesSent",
    "Demand",
    "DemandSettings",
    "DownlinkEstimator",
    "EstimatorSettings",
    "FallbackMachine",
    "FallbackSettings",
    "Layer",
    "LinkSample",
    "LossReport",
    "ProducerLayers",
    "Remb",
    "RttSample",
    "State",
    "Switch",
    "UplinkDemand",
    "UplinkFit",
    "UplinkFitSettings",
    "VideoSlot",
]
