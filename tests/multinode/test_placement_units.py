"""The node's side of placement without Redis: fencing, take-over rules, journal lock, static spread."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from signaling.placement import (
    FENCE_MARGIN,
    InProcessPlacement,
    JournalLock,
    NodeInfo,
    Placement,
    SittingHost,
    StaticPlacement,
    rendezvous,
)


class FakeLeases(Placement):
    """A lease table shared by several fake nodes, on a fake clock."""

    table: ClassVar[dict[str, tuple[str, float]]] = {}

    def __init__(self, node_id: str, clock, ttl: float = 3.0, table=None) -> None:
        self.node = NodeInfo(node_id, f"http://{node_id}")
        self.clock = clock
        self.lease_ttl_s = ttl
        self.table = table if table is not None else {}
        self.down = False

    def _alive(self, sitting):
        entry = self.table.get(sitting)
        return entry if entry is not None and entry[1] > self.clock() else None

    async def acquire(self, sitting):
        if self.down:
            raise ConnectionError("redis down")
        entry = self._alive(sitting)
        if entry is None or entry[0] == self.node.id:
            self.table[sitting] = (self.node.id, self.clock() + self.lease_ttl_s)
            return self.clock() + self.lease_ttl_s
        return None

    async def renew(self, sitting):
        if self.down:
            raise ConnectionError("redis down")
        entry = self._alive(sitting)
        if entry is None or entry[0] != self.node.id:
            return None
        self.table[sitting] = (self.node.id, self.clock() + self.lease_ttl_s)
        return self.clock() + self.lease_ttl_s

    async def release(self, sitting):
        if (self._alive(sitting) or ("",))[0] == self.node.id:
            del self.table[sitting]

    async def locate(self, sitting):
        entry = self._alive(sitting)
        return None if entry is None else NodeInfo(entry[0], f"http://{entry[0]}")


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def make_host(placement, tmp_path, opened, closed, clock):
    async def open_sitting(s):
        opened.append((placement.node.id, s))

    async def close_sitting(s):
        closed.append((placement.node.id, s))

    return SittingHost(placement, ["s1"], tmp_path, open_sitting=open_sitting, close_sitting=close_sitting, clock=clock)


async def test_fence_closes_before_the_lease_ends_and_a_second_node_waits(tmp_path):
    clock, table, opened, closed = Clock(), {}, [], []
    a = make_host(FakeLeases("a", clock, table=table), tmp_path, opened, closed, clock)
    b = make_host(FakeLeases("b", clock, table=table), tmp_path, opened, closed, clock)
    await a.tick()
    assert opened == [("a", "s1")] and a.fence("s1") is None
    for _ in range(5):  # b never opens the sitting while a renews
        await b.tick()
    assert opened == [("a", "s1")] and b.fence("s1") is not None

    # a stops renewing (Redis unreachable from a): its fence closes before the lease ends
    a.placement.down = True
    clock.t += 3.0 * (1 - FENCE_MARGIN) + 0.01
    await a.tick()
    assert a.fence("s1") is not None, "the fence must close a quarter TTL before the lease expires"
    assert table["s1"][1] > clock(), "... while Redis still holds a's lease: nobody else may take it yet"
    await b.tick()
    assert opened == [("a", "s1")]

    # the lease expires: b wins it, but a still holds the journal lock: b gives it back
    clock.t += 1.0
    await b.tick()
    await b.tick()
    await b.tick()
    assert opened == [("a", "s1")] and "s1" not in table

    # a comes back to Redis: it takes its own sitting back (key free) and reopens the fence
    a.placement.down = False
    await a.tick()
    assert a.fence("s1") is None and table["s1"][0] == "a"

    # a stops for good: lock released, lease given back; b takes over
    await a.stop()
    await b.tick()
    assert opened[-1] == ("b", "s1") and closed == [("a", "s1")] and b.fence("s1") is None
    await b.stop()


async def test_a_node_that_finds_its_sitting_taken_closes_it(tmp_path):
    clock, table, opened, closed = Clock(), {}, [], []
    a = make_host(FakeLeases("a", clock, table=table), tmp_path, opened, closed, clock)
    await a.tick()
    table["s1"] = ("z", clock() + 10)  # someone else holds it now (e.g. after a partition)
    await a.tick()
    assert closed == [("a", "s1")] and not a.holds("s1") and a.fence("s1") is not None


def test_journal_lock_is_exclusive(tmp_path):
    first, second = JournalLock(tmp_path, "s1"), JournalLock(tmp_path, "s1")
    assert first.try_lock("a") and not second.try_lock("b")
    first.unlock()
    assert second.try_lock("b")
    second.unlock()


async def test_static_and_in_process_placements():
    nodes = [NodeInfo(f"worker-{i}", f"http://127.0.0.1:{8080 + i}") for i in range(2)]
    assignment = StaticPlacement.assign(["s1", "s2", "s3"], 2)
    assert assignment == {"s1": 0, "s2": 1, "s3": 0}
    w1 = StaticPlacement(nodes, 1, assignment)
    assert await w1.acquire("s2") and await w1.acquire("s1") is None
    assert (await w1.locate("s1")).url == "http://127.0.0.1:8080"
    solo = InProcessPlacement(nodes[0])
    assert await solo.acquire("s1") == float("inf") and (await solo.locate("s1")) == nodes[0]
    spread = [rendezvous(f"s{i}", ["a", "b"]) for i in range(40)]
    assert 10 < spread.count("a") < 30
    assert asyncio.iscoroutinefunction(w1.publish)


def test_the_cluster_keys_of_seance_toml(tmp_path, capsys):
    import os

    from web.cli import main
    from web.config_file import ConfigError, parse
    from web.workers import node_url

    base = {"server": {"host": "127.0.0.1", "port": 8080, "data_dir": "data"}, "proxy": {"trusted": ["127.0.0.1"]}}
    plain = parse(base, base_dir=tmp_path)
    assert not plain.cluster.clustered and plain.cluster.workers == 1  # the default: one process, no Redis
    doc = {
        **base,
        "server": {
            **base["server"],
            "workers": "auto",
            "redis": "redis://:pw@10.0.0.5:6379/0",
            "node_url": "https://n1.seance.example:{port}",
            "lease_ttl_s": 5,
        },
    }
    config = parse(doc, base_dir=tmp_path)
    assert config.cluster.workers == max(1, os.cpu_count() or 1)
    assert config.cluster.redis_url == "redis://:pw@10.0.0.5:6379/0" and config.cluster.lease_ttl_s == 5.0
    assert node_url(config, 1) == "https://n1.seance.example:8081"
    assert node_url(plain, 1) == "http://127.0.0.1:8081"
    for key, value in (("workers", 65), ("workers", "many"), ("redis", "10.0.0.5"), ("lease_ttl_s", 0.5)):
        try:
            parse({**base, "server": {**base["server"], key: value}}, base_dir=tmp_path)
        except ConfigError as err:
            assert f"server.{key}" in err.keys
        else:
            raise AssertionError(f"server.{key} = {value!r} accepted")

    toml = tmp_path / "seance.toml"
    toml.write_text(
        '[server]\nhost = "127.0.0.1"\nport = 8080\ndata_dir = "data"\nworkers = 2\n'
        'redis = "redis://:secret@127.0.0.1:6379/0"\nnode_url = "https://n1.seance.example:{port}"\n'
        '[proxy]\ntrusted = ["127.0.0.1"]\n'
    )
    assert main(["serve", "--check", "--config", str(toml)]) == 0
    out = capsys.readouterr().out
    assert "2 processus" in out and "127.0.0.1:6379/0" in out and "secret" not in out
