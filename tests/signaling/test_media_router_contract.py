"""The contract signaling holds with the media plane (signaling.room.MediaRouter): the
real Router and the signaling tests' double both fulfil it, method by method, with the
same parameters and the same sync/async nature (issue 14 point 3). Signaling calls these
methods without ``hasattr``: a method missing on either side fails here, not in a sitting."""

from __future__ import annotations

import inspect

import pytest
from prometheus_client import CollectorRegistry

from sfu.config import RouterConfig
from sfu.router import Router
from signaling.room import MediaRouter
from tests.signaling.fake_router import FakeRouter

#: the protocol's methods (its attributes are checked on instances below)
METHODS = sorted(
    name
    for name, member in vars(MediaRouter).items()
    if not name.startswith("_") and (inspect.isfunction(member) or inspect.iscoroutinefunction(member))
)
ATTRIBUTES = sorted(name for name in getattr(MediaRouter, "__annotations__", {}) if not name.startswith("_"))


def parameters(fn) -> list[tuple[str, inspect._ParameterKind]]:
    return [(p.name, p.kind) for p in inspect.signature(fn).parameters.values() if p.name != "self"]


def test_the_contract_names_what_signaling_calls():
    assert {"start_recording", "stop_recording", "traffic", "connect_salle", "close"} <= set(METHODS)
    assert "on_paused" in ATTRIBUTES


@pytest.mark.parametrize("implementation", [Router, FakeRouter], ids=["Router", "FakeRouter"])
@pytest.mark.parametrize("name", METHODS)
def test_each_method_has_the_contract_s_shape(implementation, name):
    declared = getattr(MediaRouter, name)
    actual = getattr(implementation, name, None)
    assert actual is not None, f"{implementation.__name__} lacks {name}"
    assert inspect.iscoroutinefunction(actual) == inspect.iscoroutinefunction(declared), name
    assert [n for n, _ in parameters(actual)] == [n for n, _ in parameters(declared)], name


async def test_instances_carry_the_contract_s_attributes():
    router = Router(RouterConfig(), registry=CollectorRegistry())
    fake = FakeRouter(lambda *a: None, lambda *a: None)
    try:
        for instance in (router, fake):
            for name in ATTRIBUTES:
                assert hasattr(instance, name), (type(instance).__name__, name)
            assert isinstance(instance, MediaRouter)  # runtime_checkable: every member present
    finally:
        await router.close()
