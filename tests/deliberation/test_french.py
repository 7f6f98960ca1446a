"""Words for people (issue 15, point 6): the core's messages elide before a vowel or a mute
h and agree with the member's civilité; the inclusive « ·e » only when it is unknown.

The messages are rendered for real: each refusal below is the core's own answer to a
command, for a feminine and a masculine member, with first names beginning with a vowel
(Odile, Isabelle), an h (Hélène) and a consonant (Karim). A scan of the core's source
keeps every « de » before a person's name going through :func:`deliberation.french.de`.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from deliberation.commands import (
    AppointSecretary,
    CastBallot,
    CheckIn,
    CheckOut,
    DeclareWithdrawal,
    OpenVote,
    RecordProxy,
    RequestFloor,
)
from deliberation.demo import demo_config, demo_council, demo_setup
from deliberation.french import agreed, de, elides, plural, que
from deliberation.seance import Seance
from tests.deliberation.delib_support import PRESIDENT, Clock, agent, councillor, ok, opened, refused

CORE = Path(__file__).resolve().parents[2] / "deliberation"
#: a « de » or « que » before a vowel or an h, where French elides
UNELIDED = re.compile(r"\b(de|que) [AEIOUYHÉÈÊÀÂÎÔaeiouyhéèêàâîô]")


def test_elision_and_agreement_helpers():
    assert de("Odile Fournier") == "d'Odile Fournier"
    assert de("Hélène Marchand") == "d'Hélène Marchand"
    assert de("Isabelle Morel") == "d'Isabelle Morel"
    assert de("Yves Roux") == "d'Yves Roux"
    assert de("Karim Benali") == "de Karim Benali"
    assert que("agent de salle") == "qu'agent de salle" and que("président") == "que président"
    assert elides("Émile") and not elides("Jean")
    assert [agreed("présent", f) for f in (True, False, None)] == ["présente", "présent", "présent·e"]
    assert [plural(n, "point") for n in (0, 1, 2, 7)] == ["0 point", "1 point", "2 points", "7 points"]


def _with_civility(council, **civility):
    members = tuple(dataclasses.replace(m, civility=civility.get(m.id, m.civility)) for m in council.members)
    return dataclasses.replace(council, members=members)


def _convened(council) -> Seance:
    seance = Seance(council, demo_config())
    for command, actor in demo_setup():
        ok(seance, command, actor)
    return seance


def _messages(council) -> dict[str, str]:
    """The core's answers, for Odile Fournier (m05), Hélène Marchand (m01), Karim Benali (m04)
    and Isabelle Morel (m11)."""
    clock = Clock()
    s = opened(clock, {"belcourt": ["m01", "m02", "m03", "m04", "m05"], "vaux": ["m06", "m07", "m08"],
                       "saint-ferreol": ["m10", "m11"]}, seance=_convened(council))  # fmt: skip
    out = {}
    out["present_again_f"] = refused(s, CheckIn(clock(), "m05", "belcourt"), agent("belcourt"), "R4").message
    out["present_again_m"] = refused(s, CheckIn(clock(), "m04", "belcourt"), agent("belcourt"), "R4").message
    out["not_here_f"] = refused(s, CheckOut(clock(), "m11", "belcourt"), agent("belcourt"), "R4").message
    out["giver_present_f"] = refused(s, RecordProxy(clock(), "m05", "m02", "n° 1"), agent("belcourt"), "R9").message
    out["holder_absent_m"] = refused(s, RecordProxy(clock(), "m13", "m14", "n° 2"), agent("belcourt"), "R9").message
    out["secretary_absent_f"] = refused(s, AppointSecretary(clock(), "m09"), PRESIDENT, "R10").message
    out["floor_absent_f"] = refused(s, RequestFloor(clock(), "m13"), councillor("m13"), "R1").message
    ok(s, DeclareWithdrawal(clock(), "marche-collecte", "m05"), councillor("m05"))
    out["withdrawn_f"] = refused(
        s, DeclareWithdrawal(clock(), "marche-collecte", "m05"), councillor("m05"), "R8"
    ).message
    ok(s, RecordProxy(clock(), "m13", "m11", "n° 3"), agent("saint-ferreol"))
    ok(s, OpenVote(clock(), "fonds-concours-vaux"), PRESIDENT)
    out["not_voter_proxy"] = refused(
        s, CastBallot(clock(), "fonds-concours-vaux", "m02", "pour", "m13"), councillor("m02"), "R16"
    ).message
    return out


@pytest.mark.parametrize("known", [True, False], ids=["civilité connue", "civilité inconnue"])
def test_core_messages_elide_and_agree_with_the_civility(known):
    council = demo_council()
    if not known:
        council = _with_civility(council, **{m.id: "" for m in council.members})
    msgs = _messages(council)
    for key, text in msgs.items():
        assert not UNELIDED.search(text), f"{key}: no elision in « {text} »"
    if known:
        assert "Odile Fournier est déjà enregistrée présente" in msgs["present_again_f"]
        assert "Karim Benali est déjà enregistré présent" in msgs["present_again_m"]
        assert "Isabelle Morel n'est pas enregistrée présente" in msgs["not_here_f"]
        assert "Odile Fournier est présente" in msgs["giver_present_f"]
        assert "Didier Mercier n'est pas présent :" in msgs["holder_absent_m"]
        assert "Claire Dubois n'est pas présente" in msgs["secretary_absent_f"]
        assert "Anne Girard n'est pas enregistrée présente" in msgs["floor_absent_f"]
        assert "Odile Fournier est déjà retirée" in msgs["withdrawn_f"]
        assert not any("·" in text for text in msgs.values()), msgs
    else:
        assert "Odile Fournier est déjà enregistré·e présent·e" in msgs["present_again_f"]
    assert "au titre du pouvoir d'Anne Girard" in msgs["not_voter_proxy"]


def test_the_cores_messages_put_names_through_the_elision():
    """« de {name} » in an f-string of the core would say « de Odile »: it must be « {de(name)} »."""
    offenders = []
    for path in sorted(CORE.glob("*.py")):
        if path.name in ("audit.py", "journal.py", "french.py"):  # audit reasons name ids; french.py is the rule
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if re.search(r"\bde \{[^}]*(name|\.name\(|_name\()", line):
                offenders.append(f"{path.name}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
