"""Who may turn a sitting's recording into a file people can watch, and which file it is (R5).

R5 (R.5211-2 al. 5 CGCT): recording, retention and who may consult follow the council's
règlement intérieur. The règlement's replay setting names the roles allowed to export a
recording (:class:`ReplayPolicy`) and whether the council publishes it on its Actes page.
An export is the recording as it was made, decrypted, never re-encoded: the R19 passages
were recorded silent and black and stay so. It is exported only if its SHA-256 (of the
encrypted file) is the one the sitting's journal records (``RecordingDigest``): a file
changed or swapped since is refused. Pure: the policy, the role and the journaled
recordings in, a refusal or the journaled entry out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .refusal import Refusal

#: the roles a règlement may allow to export (the people who hold an account)
EXPORT_ROLES = ("president", "auditor", "admin", "councillor")
ROLE_LABELS = {
    "president": "le président",
    "auditor": "l'auditeur",
    "admin": "l'administration (DSI, secrétariat)",
    "councillor": "les conseillers",
}


@dataclass(frozen=True)
class ReplayPolicy:
    """The règlement intérieur's replay setting: who may export, whether it is published."""

    roles: frozenset[str] = frozenset()
    publish: bool = False


def may_export(policy: ReplayPolicy, role: str) -> Refusal | None:
    """R5: the règlement allows this role to export the recordings."""
    if role not in policy.roles:
        who = ", ".join(ROLE_LABELS[r] for r in EXPORT_ROLES if r in policy.roles) or "personne"
        return Refusal(
            "R5",
            f"R5 — le règlement intérieur ne permet pas à ce compte d'exporter l'enregistrement des débats "
            f"(autorisé : {who}).",
        )
    return None


def journaled_recording(recordings: list[dict[str, Any]], label: str, sha256: str) -> dict[str, Any] | Refusal:
    """R5: the journal's record of the recording ``label`` whose encrypted file has ``sha256``."""
    entry = next((r for r in recordings if r["label"] == label), None)
    if entry is None:
        return Refusal("R5", "R5 — le journal de la séance ne mentionne pas cet enregistrement.")
    if entry["sha256"] != sha256:
        return Refusal(
            "R5",
            "R5 — le fichier ne correspond plus à l'empreinte inscrite au journal : il a été modifié ou remplacé, "
            "il n'est pas exporté.",
        )
    return entry
