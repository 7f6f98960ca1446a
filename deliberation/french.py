"""French for people in the core's messages (issue 15, point 6).

- Elision: « de » and « que » become « d' » and « qu' » before a vowel or a mute h
  (« le pouvoir d'Odile Fournier », « la suppléance d'Hélène Marchand »); first names
  beginning with an h are taken as mute, as French usage does for them.
- Agreement with the member's civilité (``Member.civility``: « Mme » or « M. »):
  « présente », « présent »; when the civilité is unknown, the one inclusive convention
  of Séance, the middle dot (« présent·e »).
- Plural: « 1 point », « 2 points ».
"""

from __future__ import annotations

import unicodedata

_ELIDING = frozenset("aeiouyh")


def elides(word: str) -> bool:
    """Whether ``word`` takes the elided article (vowel or mute h, accents ignored)."""
    first = unicodedata.normalize("NFD", word.strip()[:1].lower())[:1]
    return first in _ELIDING


def de(name: str) -> str:
    """« de Jean Perrin », « d'Odile Fournier », « d'Hélène Marchand »."""
    return f"d'{name}" if elides(name) else f"de {name}"


def que(word: str) -> str:
    """« que le président », « qu'Hélène »."""
    return f"qu'{word}" if elides(word) else f"que {word}"


def agreed(word: str, feminine: bool | None) -> str:
    """``word`` (masculine, ending without -e) agreed: « présent » / « présente », and
    « présent·e » when the civilité is unknown."""
    if feminine is None:
        return f"{word}·e"
    return f"{word}e" if feminine else word


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """« 1 point », « 3 points », « 0 point » (French: the plural from two)."""
    return f"{n} {singular if abs(n) < 2 else (plural_form or singular + 's')}"
