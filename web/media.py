"""The media plane of a sitting, built from the web configuration: the one place where
Séance constructs a :class:`sfu.router.Router` (issue 14 point 5), for the sittings a
node holds and for the edges that relay a sitting's public programme (:mod:`web.relay`).

The media stack (aiortc) is imported when the first Router is built, not when this
module is: ``seance audit verify`` and the other commands run on a machine without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry

from signaling.room import MediaRouter, RouterFactory
from web.config import WebConfig

OnHealth = Callable[[str, bool], None]
OnSlots = Callable[[str, dict[str, str | None]], None]


def build_router(
    config: WebConfig, on_health: OnHealth, on_slots: OnSlots, registry: CollectorRegistry | None = None
) -> MediaRouter:
    """A Router configured from ``config`` (ICE addresses, voice slots, the forwarding step, router options);
    its metrics on ``registry`` (an edge's Router passes None: the node's registry already
    carries the origin's)."""
    from sfu.config import IceSettings, RouterConfig  # the media stack, when first needed (module docstring)
    from sfu.router import Router

    ice = IceSettings(listen_addresses=tuple(config.ice_addresses) or None, announced_address=config.announced_address)
    options: dict[str, Any] = {"audio_slots": config.voice_slots, "ice": ice}
    if config.forwarding is not None:
        options["forwarding"] = config.forwarding
    options.update(config.router_options)
    return Router(RouterConfig(**options), on_health=on_health, on_slots=on_slots, registry=registry)


def router_factory(config: WebConfig, registry: CollectorRegistry | None) -> RouterFactory:
    """The factory a :class:`signaling.room.SittingRoom` calls with its callbacks."""

    def build(on_health: OnHealth, on_slots: OnSlots) -> MediaRouter:
        return build_router(config, on_health, on_slots, registry)

    return build
