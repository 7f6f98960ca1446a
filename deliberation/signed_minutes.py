"""The adopted procès-verbal, signed (R22, L.2121-15 CGCT).

The procès-verbal of a sitting is adopted at the start of a following one (L.2121-15):
the secretariat closes its text (its SHA-256 is journaled in the approving sitting by
``LinkMinutes`` before the vote), the council votes on that item, and once the motion is
adopted the text is produced as a PDF/A-3b (ISO 19005-3, by WeasyPrint) holding:

- the procès-verbal as adopted, and that very HTML attached (``proces-verbal.html``),
  so that anyone can hash it and find the digest journaled before the vote;
- the adoption: the sitting, the item, its vote's counts and the time it closed;
- the signed head of the journal of the sitting the PV records (seq, hash, signature);
- the names of the president and the secretary it is signed for, and the fingerprint of
  the council's Ed25519 key.

The SHA-256 of the PDF is then journaled in the approving sitting (``RecordMinutesSigned``)
and covered by the journal's signature: :func:`deliberation.adoption.check_signed_pdf`
verifies a PDF against that journal offline (``seance audit pv``). Bytes in, bytes out:
the caller stores them.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from weasyprint import HTML, Attachment  # type: ignore[import-untyped]  # WeasyPrint ships no types

from .adoption import ATTACHMENT, Adoption, sha256_text
from .minutes import french_date, french_time


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("deliberation", "templates"), autoescape=select_autoescape(["html"]))
    env.filters["date_fr"] = french_date
    env.filters["time_fr"] = french_time
    return env


def certificate_html(
    adoption: Adoption, pv_head: dict[str, Any], president: str, secretary: str, fingerprint: str
) -> str:
    """The closing section of the signed procès-verbal: its adoption and what ties it to the journals."""
    return (
        _environment()
        .get_template("pv-signature.html")
        .render(a=adoption, head=pv_head, president=president, secretary=secretary, fingerprint=fingerprint)
    )


def signed_pdf(adopted_html: str, adoption: Adoption, certificate: str) -> bytes:
    """The PDF/A-3b of the adopted procès-verbal: ``adopted_html`` (the text whose digest was
    voted), the certificate inserted before ``</body>``, the adopted HTML attached."""
    if sha256_text(adopted_html) != adoption.sha256:
        raise ValueError("le texte n'est pas celui dont l'empreinte a été soumise au vote")
    head, sep, tail = adopted_html.rpartition("</body>")
    document = head + certificate + sep + tail if sep else adopted_html + certificate
    attachment = Attachment(
        string=adopted_html.encode("utf-8"), name=ATTACHMENT, description="Procès-verbal adopté (HTML)"
    )
    return bytes(HTML(string=document).write_pdf(pdf_variant="pdf/a-3b", attachments=[attachment]))


def html_pdf(html: str) -> bytes:
    """A published act (a délibération) as a PDF/A-3b: the HTML as it is, no attachment."""
    return bytes(HTML(string=html).write_pdf(pdf_variant="pdf/a-3b"))
