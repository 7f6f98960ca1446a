"""Every client message type, good and bad; the one error shape; fuzzing (T9)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaling.protocol import (
    CLIENT_MESSAGES,
    MAX_MESSAGE_BYTES,
    AudioOnly,
    CommandMessage,
    Hello,
    Join,
    Leave,
    Mute,
    Offer,
    Pin,
    Ping,
    Present,
    ProtocolError,
    Reception,
    TurnPage,
    parse,
    to_wire,
)

GOOD = {
    "hello": [
        ({"type": "hello", "sitting": "demo"}, Hello(sitting="demo")),
        ({"type": "hello", "sitting": "demo", "token": "a.b", "id": "1"}, Hello(sitting="demo", token="a.b", id="1")),
    ],
    "join": [
        ({"type": "join", "as": "salle"}, Join(as_="salle")),
        ({"type": "join", "as": "viewer"}, Join(as_="viewer")),
    ],
    "offer": [({"type": "offer", "sdp": "v=0\r\n"}, Offer(sdp="v=0\r\n"))],
    "leave": [({"type": "leave"}, Leave())],
    "mute": [
        ({"type": "mute", "salle": "vaux", "muted": False}, Mute(salle="vaux", muted=False)),
        ({"type": "mute", "salle": "saint-ferreol"}, Mute(salle="saint-ferreol", muted=True)),
    ],
    "audio_only": [({"type": "audio_only", "salle": "vaux", "audio_only": True}, AudioOnly(salle="vaux"))],
    "reception": [
        (
            {"type": "reception", "period_ms": 2000, "video_frames": 48, "video_slots": 2, "outgoing_kbps": 900},
            Reception(period_ms=2000, video_frames=48, video_slots=2, outgoing_kbps=900),
        )
    ],
    "pin": [
        ({"type": "pin", "salle": "vaux"}, Pin(salle="vaux")),
        ({"type": "pin", "salle": None}, Pin()),
        ({"type": "pin"}, Pin()),
    ],
    "present": [
        ({"type": "present", "annex": "a1b2c3d4e5f60708", "pages": 3}, Present(annex="a1b2c3d4e5f60708", pages=3))
    ],
    "page": [({"type": "page", "page": 2, "id": "t"}, TurnPage(page=2, id="t"))],
    "ping": [({"type": "ping", "id": "42"}, Ping(id="42"))],
    "command": [
        (
            {"type": "command", "id": "c42", "command": {"type": "CheckIn", "member_id": "m03", "salle_id": "vaux"}},
            CommandMessage(id="c42", command={"type": "CheckIn", "member_id": "m03", "salle_id": "vaux"}),
        )
    ],
}

BAD = {
    "hello": [
        ({"type": "hello"}, "missing_field", "sitting"),
        ({"type": "hello", "sitting": "Démo!"}, "invalid_field", "sitting"),
        ({"type": "hello", "sitting": "demo", "token": 5}, "invalid_field", "token"),
    ],
    "join": [
        ({"type": "join"}, "missing_field", "as"),
        ({"type": "join", "as": "president"}, "invalid_field", "as"),
        ({"type": "join", "as_": "salle"}, "unknown_field", "as_"),
    ],
    "offer": [({"type": "offer"}, "missing_field", "sdp"), ({"type": "offer", "sdp": ["v=0"]}, "invalid_field", "sdp")],
    "leave": [({"type": "leave", "now": True}, "unknown_field", "now")],
    "mute": [
        ({"type": "mute"}, "missing_field", "salle"),
        ({"type": "mute", "salle": "vaux", "muted": "yes"}, "invalid_field", "muted"),
        ({"type": "mute", "salle": "vaux", "muted": 1}, "invalid_field", "muted"),
    ],
    "reception": [
        ({"type": "reception", "period_ms": -1}, "invalid_field", "period_ms"),
        ({"type": "reception", "video_frames": "many"}, "invalid_field", "video_frames"),
    ],
    "audio_only": [
        ({"type": "audio_only", "salle": None}, "missing_field", "salle"),
        ({"type": "audio_only", "salle": "x" * 65}, "invalid_field", "salle"),
    ],
    "pin": [
        ({"type": "pin", "salle": 3}, "invalid_field", "salle"),
        ({"type": "pin", "salle": "../etc"}, "invalid_field", "salle"),
    ],
    "present": [
        ({"type": "present", "annex": "a1"}, "missing_field", "pages"),
        ({"type": "present", "annex": "../x", "pages": 1}, "invalid_field", "annex"),
        ({"type": "present", "annex": "a1", "pages": 0}, "invalid_field", "pages"),
        ({"type": "present", "annex": "a1", "pages": 1, "sha256": "00"}, "unknown_field", "sha256"),
    ],
    "page": [
        ({"type": "page"}, "missing_field", "page"),
        ({"type": "page", "page": 0}, "invalid_field", "page"),
        ({"type": "page", "page": "2"}, "invalid_field", "page"),
        ({"type": "page", "page": 2001}, "invalid_field", "page"),
    ],
    "ping": [
        ({"type": "ping", "id": 7}, "invalid_field", "id"),
        ({"type": "ping", "id": "x" * 65}, "invalid_field", "id"),
    ],
    "command": [
        ({"type": "command"}, "missing_field", "command"),
        ({"type": "command", "command": "OpenSitting"}, "invalid_field", "command"),
        ({"type": "command", "command": {}, "actor": "president"}, "unknown_field", "actor"),
    ],
}


def test_every_message_type_has_good_and_bad_cases():
    assert set(GOOD) == set(CLIENT_MESSAGES) == set(BAD)


@pytest.mark.parametrize("raw,expected", [case for cases in GOOD.values() for case in cases])
def test_good_messages_parse_to_their_dataclass(raw, expected):
    msg = parse(json.dumps(raw))
    assert msg == expected
    assert parse(json.dumps(to_wire(msg))) == msg  # round trip


@pytest.mark.parametrize("raw,code,field", [case for cases in BAD.values() for case in cases])
def test_bad_messages_are_refused_with_one_error_shape(raw, code, field):
    with pytest.raises(ProtocolError) as info:
        parse(json.dumps(raw))
    err = info.value.to_message("r1")
    assert err == {"type": "error", "code": code, "message": err["message"], "field": field, "re": "r1"}
    assert err["message"] and err["message"][0].isupper()


@pytest.mark.parametrize(
    "raw,code",
    [
        ("not json", "bad_json"),
        ("[1,2]", "bad_json"),
        ('{"sitting":"demo"}', "missing_field"),
        ('{"type":"vote"}', "unknown_type"),
        ('{"type":7}', "missing_field"),
        ('{"type":"ping","id":"' + "x" * MAX_MESSAGE_BYTES + '"}', "too_large"),
    ],
)
def test_malformed_frames(raw, code):
    with pytest.raises(ProtocolError) as info:
        parse(raw)
    assert info.value.code == code


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=20),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=12,
    ),
    st.sampled_from(sorted(CLIENT_MESSAGES)),
)
def test_fuzz_parse_only_returns_a_message_or_a_protocol_error(extra, mtype):
    """T9: whatever a socket sends, parse() returns a typed message or refuses cleanly."""
    for payload in (extra, {"type": mtype, **(extra if isinstance(extra, dict) else {"x": extra})}):
        try:
            msg = parse(json.dumps(payload))
        except ProtocolError as err:
            assert err.code and err.message
        else:
            assert msg.type == mtype
