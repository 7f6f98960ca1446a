"""Fixtures of tests/multinode: a real redis-server and nodes in separate processes."""

from __future__ import annotations

import shutil

import pytest

from tests.multinode.multinode_support import Node, RedisServer


@pytest.fixture
def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (make system-deps)")
    server = RedisServer(tmp_path)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def cluster(tmp_path, redis_server):
    """Start nodes with ``cluster.add(name)``; all are stopped at the end."""
    data_dir = tmp_path / "shared-data"
    data_dir.mkdir()

    class Cluster:
        def __init__(self) -> None:
            self.nodes: list[Node] = []
            self.data_dir = data_dir
            self.redis = redis_server

        def add(self, name: str) -> Node:
            node = Node(name, tmp_path, data_dir, redis_server.url)
            self.nodes.append(node)
            node.start()
            return node

    c = Cluster()
    try:
        yield c
    finally:
        for node in c.nodes:
            node.stop()
