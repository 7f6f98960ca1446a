"""The WebSocket protocol: typed JSON messages and their validation.

Every message is a JSON object with a ``type``. Messages a browser may send are
dataclasses registered in :data:`CLIENT_MESSAGES`; :func:`parse` turns raw text into one
of them or raises :class:`ProtocolError`, which the hub sends back as the one error
shape ``{"type": "error", "code": …, "message": <French>, "field": …, "re": …}``.
Parsing is pure: a message that fails validation is refused before any handler runs, so
a bad message changes nothing.

The validator is ours and small on purpose (about a hundred lines): it reads the
dataclass field annotations (``str``, ``int``, ``bool``, ``X | None``, ``Literal[…]``,
``list[str]``) plus per-field limits in ``field(metadata=…)``. A general schema library
would bring more than the protocol needs. The full protocol is described in
``docs/protocol.md``.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from deliberation.commands import MAX_PRESENTED_PAGES

#: Largest text frame accepted from a browser (an SDP offer with a few transceivers
#: is about 6–10 kB; 64 kB leaves room without letting a client make us parse megabytes).
MAX_MESSAGE_BYTES = 64 * 1024

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

#: Deepest nesting of arrays and objects accepted (the deepest message, a command, is 3).
MAX_DEPTH = 16
_SURROGATE = re.compile("[\ud800-\udfff]")


class ProtocolError(Exception):
    """A refusal sent to the client as the one error shape; nothing was changed.

    ``code`` is a stable machine identifier (``bad_json``, ``unknown_type``,
    ``invalid_field``, ``forbidden``, ``not_authenticated``…, or a rule id such as
    ``R7`` when the deliberation core refuses); ``message`` is French, for people.
    """

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field

    def to_message(self, re_id: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "error", "code": self.code, "message": self.message, "field": self.field}
        if re_id is not None:
            out["re"] = re_id
        return out


def _limits(
    max_len: int | None = None,
    pattern: re.Pattern[str] | None = None,
    min_value: int | None = None,
    max_value: int | None = None,
) -> dict[str, Any]:
    return {"max_len": max_len, "pattern": pattern, "min": min_value, "max": max_value}


def ident(default: Any = dataclasses.MISSING) -> Any:
    """A field holding an identifier (salle id, sitting id): lowercase, digits, ``-``, ``_``."""
    return field(default=default, metadata=_limits(max_len=64, pattern=ID_PATTERN))


def text(max_len: int, default: Any = dataclasses.MISSING) -> Any:
    return field(default=default, metadata=_limits(max_len=max_len))


# --------------------------------------------------------------------------- messages


@dataclass(frozen=True, kw_only=True)
class Message:
    """Base of every client message. ``id`` is an optional correlation id echoed as ``re``."""

    type: ClassVar[str] = ""
    id: str | None = text(64, default=None)


@dataclass(frozen=True, kw_only=True)
class Hello(Message):
    """Authenticate the socket and attach it to a sitting. ``token`` may be omitted when
    the browser carries a session cookie (people logged in through ``/login``) or for
    the anonymous public role."""

    type: ClassVar[str] = "hello"
    sitting: str = ident()
    token: str | None = text(4096, default=None)


@dataclass(frozen=True, kw_only=True)
class Join(Message):
    """Ask for media: ``as`` = ``salle`` (a kiosk publishing its salle), ``viewer``
    (receive-only: the public stream) or ``monitor`` (the president's and the moderator's
    mosaic: every salle's picture). The server answers with ``slots``."""

    type: ClassVar[str] = "join"
    as_: Literal["salle", "viewer", "monitor"] = field(metadata={"wire_name": "as"})


@dataclass(frozen=True, kw_only=True)
class Offer(Message):
    """The browser's SDP offer (complete: ICE gathering finished, no trickle)."""

    type: ClassVar[str] = "offer"
    sdp: str = text(MAX_MESSAGE_BYTES)


@dataclass(frozen=True, kw_only=True)
class Leave(Message):
    """Stop sending and receiving media; the socket stays attached to the sitting."""

    type: ClassVar[str] = "leave"


@dataclass(frozen=True, kw_only=True)
class Mute(Message):
    """Server-side mute of a salle's audio (moderator, president)."""

    type: ClassVar[str] = "mute"
    salle: str = ident()
    muted: bool = True


@dataclass(frozen=True, kw_only=True)
class AudioOnly(Message):
    """Switch a salle to audio only, or back to video (its agent; R3)."""

    type: ClassVar[str] = "audio_only"
    salle: str = ident()
    audio_only: bool = True


def count(max_value: int) -> Any:
    return field(default=0, metadata=_limits(min_value=0, max_value=max_value))


@dataclass(frozen=True, kw_only=True)
class Reception(Message):
    """A kiosk's own reception figures over the last ``period_ms`` (its ``getStats``):
    frames decoded in the video slots it shows, audio samples received and concealed in
    its voice slots, its browser's send-side estimate. With its receiver reports they
    say whether the salle receives the sitting's sound and image (R7, R17, R3)."""

    type: ClassVar[str] = "reception"
    period_ms: int = count(60_000)
    video_frames: int = count(100_000)
    video_slots: int = count(16)
    audio_samples: int = count(100_000_000)
    audio_concealed: int = count(100_000_000)
    outgoing_kbps: int | None = field(default=None, metadata=_limits(min_value=0, max_value=10_000_000))


@dataclass(frozen=True, kw_only=True)
class Pin(Message):
    """Pin a salle on the programme slot, or ``null`` to follow the active speaker."""

    type: ClassVar[str] = "pin"
    salle: str | None = ident(default=None)


@dataclass(frozen=True, kw_only=True)
class Present(Message):
    """Show an annex of the current item on every salle's display and the public page
    (issue 15 point 8), from page 1. ``pages``: its number of pages, as the presenter's
    browser read them from the file. Journaled as ``PresentAnnex`` with the file's digest;
    ``command`` ``StopPresentation`` takes it off."""

    type: ClassVar[str] = "present"
    annex: str = ident()
    pages: int = field(metadata=_limits(min_value=1, max_value=MAX_PRESENTED_PAGES))


@dataclass(frozen=True, kw_only=True)
class TurnPage(Message):
    """Show page ``page`` (from 1) of the annex on the displays; not journaled."""

    type: ClassVar[str] = "page"
    page: int = field(metadata=_limits(min_value=1, max_value=MAX_PRESENTED_PAGES))


@dataclass(frozen=True, kw_only=True)
class Ping(Message):
    type: ClassVar[str] = "ping"


@dataclass(frozen=True, kw_only=True)
class CommandMessage(Message):
    """A deliberation command (``deliberation.commands``) without ``at`` and without any
    actor: the server stamps the time and takes the actor from the session token. Which
    role may send which command is ``signaling.roles.COMMAND_PERMISSIONS``."""

    type: ClassVar[str] = "command"
    command: dict[str, Any]


#: type -> dataclass of every message a browser may send. The roles table
#: (:mod:`signaling.roles`) and the handler registry (:mod:`signaling.handlers`) have
#: exactly the same keys; a test checks it.
CLIENT_MESSAGES: dict[str, type[Message]] = {
    cls.type: cls
    for cls in (Hello, Join, Offer, Leave, Mute, AudioOnly, Reception, Pin, Present, TurnPage, Ping, CommandMessage)
}


def register(cls: type[Message]) -> type[Message]:
    """Class decorator for message types defined elsewhere (e.g. deliberation commands)."""
    if not cls.type or cls.type in CLIENT_MESSAGES:
        raise ValueError(f"message type {cls.type!r} empty or already registered")
    CLIENT_MESSAGES[cls.type] = cls
    return cls


#: Messages the server sends (documented in docs/protocol.md; built by helpers below).
SERVER_MESSAGE_TYPES = (
    "welcome",
    "slots",
    "paused",
    "layers",
    "answer",
    "state",
    "health",
    "sitting",
    "ack",
    "pong",
    "error",
)


# --------------------------------------------------------------------------- validation

_TYPE_NAMES_FR = {str: "une chaîne", int: "un entier", bool: "un booléen", float: "un nombre"}


def _wire_name(f: dataclasses.Field[Any]) -> str:
    return str(f.metadata.get("wire_name", f.name))


def _check(value: Any, annotation: Any, f: dataclasses.Field[Any], name: str) -> Any:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        if value is None and type(None) in args:
            return None
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1:
            return _check(value, non_none[0], f, name)
        raise TypeError(f"unsupported union {annotation!r}")  # pragma: no cover
    if origin is Literal:
        allowed = typing.get_args(annotation)
        if value not in allowed or type(value) is not type(allowed[0]):
            raise ProtocolError(
                "invalid_field",
                f"Le champ « {name} » doit valoir " + " ou ".join(f"« {a} »" for a in allowed) + ".",
                name,
            )
        return value
    if origin is dict or annotation is dict:
        # an object checked further by its consumer (a deliberation command: command_from_dict)
        if not isinstance(value, dict) or len(value) > 64:
            raise ProtocolError("invalid_field", f"Le champ « {name} » doit être un objet JSON.", name)
        return value
    if origin is list:
        (item,) = typing.get_args(annotation)
        if not isinstance(value, list) or len(value) > 256:
            raise ProtocolError("invalid_field", f"Le champ « {name} » doit être une liste.", name)
        return tuple(_check(v, item, f, name) for v in value)
    if annotation is bool:
        ok = isinstance(value, bool)
    elif annotation is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif annotation is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif annotation is str:
        ok = isinstance(value, str)
    else:  # pragma: no cover - a programming error in a message definition
        raise TypeError(f"unsupported annotation {annotation!r}")
    if not ok:
        if value is None:
            raise ProtocolError("missing_field", f"Le champ « {name} » est obligatoire.", name)
        raise ProtocolError("invalid_field", f"Le champ « {name} » doit être {_TYPE_NAMES_FR[annotation]}.", name)
    meta = f.metadata
    if isinstance(value, str):
        if meta.get("max_len") is not None and len(value) > meta["max_len"]:
            raise ProtocolError("invalid_field", f"Le champ « {name} » est trop long.", name)
        if meta.get("pattern") is not None and not meta["pattern"].match(value):
            raise ProtocolError("invalid_field", f"Le champ « {name} » n'est pas un identifiant valide.", name)
    if isinstance(value, int) and not isinstance(value, bool):
        if meta.get("min") is not None and value < meta["min"]:
            raise ProtocolError("invalid_field", f"Le champ « {name} » est trop petit.", name)
        if meta.get("max") is not None and value > meta["max"]:
            raise ProtocolError("invalid_field", f"Le champ « {name} » est trop grand.", name)
    return value


def validate(cls: type[Message], data: dict[str, Any]) -> Message:
    """Build ``cls`` from a decoded JSON object, or raise :class:`ProtocolError`.

    Unknown fields are refused (a typo must not be silently ignored)."""
    hints = typing.get_type_hints(cls)
    fields = {_wire_name(f): f for f in dataclasses.fields(cls)}
    for key in data:
        if key != "type" and key not in fields:
            raise ProtocolError("unknown_field", f"Champ inconnu « {key} » pour le message « {cls.type} ».", key)
    kwargs: dict[str, Any] = {}
    for wire, f in fields.items():
        if wire not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ProtocolError("missing_field", f"Le champ « {wire} » est obligatoire.", wire)
            continue
        kwargs[f.name] = _check(data[wire], hints[f.name], f, wire)
    return cls(**kwargs)


def _decode(raw: str | bytes) -> Any:
    """``json.loads`` of a frame, or :class:`ProtocolError`: invalid JSON, nesting deeper than
    :data:`MAX_DEPTH` (which would otherwise exhaust the parser's recursion), or a string
    holding a lone UTF-16 surrogate (``"\\ud800"``: valid JSON, but no UTF-8 text, so no
    reply could echo it; RFC 8259 § 8.2)."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("bad_json", "Message illisible : JSON invalide.") from None
    except RecursionError:
        raise ProtocolError("bad_json", "Message illisible : JSON trop imbriqué.") from None
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:  # iterative: bounded by the frame's size, never by Python's recursion
        value, depth = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                raise ProtocolError("bad_json", "Message illisible : caractère Unicode invalide.")
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise ProtocolError("bad_json", "Message illisible : JSON trop imbriqué.")
        children = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children)
    return data


def parse(raw: str | bytes) -> Message:
    """Parse one text frame into a typed message, or raise :class:`ProtocolError`."""
    if len(raw) > MAX_MESSAGE_BYTES:
        raise ProtocolError("too_large", "Message trop volumineux.")
    data = _decode(raw)
    if not isinstance(data, dict):
        raise ProtocolError("bad_json", "Un message doit être un objet JSON.")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("missing_field", "Le champ « type » est obligatoire.", "type")
    cls = CLIENT_MESSAGES.get(kind)
    if cls is None:
        raise ProtocolError("unknown_type", f"Type de message inconnu : « {kind[:40]} ».", "type")
    return validate(cls, data)


def correlation_id(raw: str | bytes) -> str | None:
    """Best effort: the ``id`` of a message that failed validation, to echo as ``re``."""
    if len(raw) > MAX_MESSAGE_BYTES:
        return None
    try:
        data = _decode(raw)
    except ProtocolError:
        return None
    if isinstance(data, dict) and isinstance(data.get("id"), str) and len(data["id"]) <= 64:
        return str(data["id"])
    return None


def to_wire(msg: Message) -> dict[str, Any]:
    """The JSON object of a client message (used by tests and by Python clients)."""
    out: dict[str, Any] = {"type": msg.type}
    for f in dataclasses.fields(msg):
        value = getattr(msg, f.name)
        if f.name == "id" and value is None:
            continue
        out[_wire_name(f)] = list(value) if isinstance(value, tuple) else value
    return out
