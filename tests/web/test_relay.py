"""web/relay.py without nodes: node tokens and the cascading keys of seance.toml.

The two-node behaviour (redirect, edge, one link, the view over Redis) is tested by
tests/multinode/test_cascade_nodes.py."""

from __future__ import annotations

import pytest

from signaling.auth import TokenError, TokenSigner
from signaling.roles import Role
from web.config_file import ConfigError, parse
from web.relay import issue_node_token, verify_node_token

KEY = b"k" * 32


def test_node_token_round_trip_and_refusals():
    signer = TokenSigner(KEY)
    token = issue_node_token(signer, "node-b", "demo", now=1000)
    assert verify_node_token(signer, token, "demo", now=1030) == "node-b"
    with pytest.raises(TokenError) as err:
        verify_node_token(signer, token, "demo", now=1060)  # 60 s
    assert err.value.code == "token_expired"
    with pytest.raises(TokenError) as err:
        verify_node_token(signer, token, "other", now=1030)
    assert err.value.code == "forbidden"
    with pytest.raises(TokenError):  # another installation's key
        verify_node_token(TokenSigner(b"x" * 32), token, "demo", now=1030)
    body, mac = token.split(".")
    with pytest.raises(TokenError):
        verify_node_token(signer, body + "." + mac[:-2] + "AA", "demo", now=1030)


def test_people_and_node_tokens_are_never_confused():
    signer = TokenSigner(KEY)
    person = signer.issue(Role.ADMIN, member="admin", sitting="demo")
    with pytest.raises(TokenError):
        verify_node_token(signer, person, "demo")
    with pytest.raises(TokenError):
        signer.verify(issue_node_token(signer, "node-b", "demo"))


def doc(**server):
    return {
        "server": {"host": "127.0.0.1", "port": 8080, "data_dir": "data", **server},
        "proxy": {"trusted": ["127.0.0.1"]},
    }


def test_cascading_keys(tmp_path):
    assert parse(doc(), base_dir=tmp_path).web.public_viewers_per_node is None
    web = parse(doc(public_viewers_per_node=300, edge_linger_s=5), base_dir=tmp_path).web
    assert web.public_viewers_per_node == 300 and web.edge_linger_s == 5.0
    for bad in ({"public_viewers_per_node": 0}, {"public_viewers_per_node": "beaucoup"}, {"edge_linger_s": -1}):
        with pytest.raises(ConfigError) as info:
            parse(doc(**bad), base_dir=tmp_path)
        assert f"server.{next(iter(bad))}" in info.value.keys
