"""R5: the règlement's replay setting decides who exports a recording; only the file whose
digest the journal records is exported."""

from __future__ import annotations

from deliberation.refusal import Refusal
from deliberation.replay import ReplayPolicy, journaled_recording, may_export


def test_only_the_roles_the_reglement_names_may_export():
    policy = ReplayPolicy(frozenset({"auditor", "president"}))
    assert may_export(policy, "auditor") is None and may_export(policy, "president") is None
    refusal = may_export(policy, "admin")
    assert isinstance(refusal, Refusal) and refusal.rule == "R5"
    assert "le président, l'auditeur" in refusal.message
    nobody = may_export(ReplayPolicy(), "president")
    assert isinstance(nobody, Refusal) and "autorisé : personne" in nobody.message


def test_the_file_exported_is_the_one_the_journal_records():
    recordings = [{"at": "2026-11-26T20:00:00+01:00", "sha256": "a" * 64, "label": "recordings/demo/x.webm.enc"}]
    assert journaled_recording(recordings, "recordings/demo/x.webm.enc", "a" * 64) == recordings[0]
    changed = journaled_recording(recordings, "recordings/demo/x.webm.enc", "b" * 64)
    assert isinstance(changed, Refusal) and "ne correspond plus" in changed.message
    unknown = journaled_recording(recordings, "recordings/demo/y.webm.enc", "a" * 64)
    assert isinstance(unknown, Refusal) and "ne mentionne pas" in unknown.message
