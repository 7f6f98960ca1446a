"""A PAdES signature inside the signed procès-verbal, with the council's Ed25519 key
(R22, L.2121-15 CGCT; ETSI EN 319 142-1 PAdES baseline B-B; ISO 32000-2 § 12.8 and
ISO/TS 32002 for EdDSA in PDF; RFC 8419 for Ed25519 in CMS, with SHA-512 as the digest).

The procès-verbal adopted is a PDF/A-3b (:mod:`deliberation.signed_minutes`); this module
signs it in an incremental update (pyHanko), so any PDF reader shows a signature panel
and any later change of the file shows as such. The council has no certification
authority: the certificate embedded is self-signed by the council's journal key
(:func:`council_certificate`), and trust is anchored on that key, not on a CA:
:func:`check_pades` accepts a signature only when the signer's public key is the
council's key the auditor holds (the one published at ``/actes/cle-publique.pem``), the
CMS signature verifies, and it covers the whole file (nothing appended after it).

The journal keeps the last word: the PDF's SHA-256, signature included, is journaled in
the adopting sitting (``MinutesSigned``) and ``seance audit pv`` checks both.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

#: the signature field's name in the PDF
FIELD = "Signature-conseil"
#: how long the self-signed certificate is valid: the minutes are kept for good
CERTIFICATE_YEARS = 50
#: :func:`check_pades`'s reason for a PDF with no signature (a PV signed before PAdES existed)
NO_PADES = "aucune signature PAdES dans le PDF"


T = TypeVar("T")


def _outside_loop(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """pyHanko's synchronous calls run an event loop of their own: called from a thread that
    already runs one (a test, a server), they run in a thread of their own (bounded wait)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn, *args, **kwargs).result(timeout=120)


def council_certificate(key: Ed25519PrivateKey, council_name: str, at: datetime) -> x509.Certificate:
    """A self-signed X.509 certificate (RFC 5280) for the council's Ed25519 key (RFC 8410),
    for signing documents only (digitalSignature, nonRepudiation)."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, council_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, council_name),
        ]
    )
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(at - timedelta(days=1))
        .not_valid_after(at + timedelta(days=365 * CERTIFICATE_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(key, None)
    )


def _asn1_certificate(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _public_key_info(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def sign_pdf(pdf: bytes, key: Ed25519PrivateKey, council_name: str, reason: str, signers_names: str) -> bytes:
    """``pdf`` with a PAdES B-B signature by the council's key appended (incremental update)."""
    cert = _asn1_certificate(council_certificate(key, council_name, datetime.now(UTC)))
    private = asn1_keys.PrivateKeyInfo.load(
        key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    signer = signers.SimpleSigner(
        signing_cert=cert,
        signing_key=private,
        cert_registry=SimpleCertificateStore.from_certs([cert]),  # type: ignore[no-untyped-call]
    )
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD,
        md_algorithm="sha512",  # RFC 8419 § 3.1: Ed25519 with SHA-512 for the signed attributes
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        name=signers_names,
        location=council_name,
    )
    out = io.BytesIO()
    _outside_loop(signers.sign_pdf, IncrementalPdfFileWriter(io.BytesIO(pdf)), meta, signer=signer, output=out)
    return out.getvalue()


def check_pades(pdf: bytes, public_key: Ed25519PublicKey) -> str | None:
    """Offline: the PDF carries one PAdES signature by ``public_key`` over the whole file.
    None when it holds, else the reason, in French."""
    try:
        found = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    except Exception as exc:  # pyHanko's parser: any unreadable structure
        return f"PDF illisible ({exc.__class__.__name__})"
    if not found:
        return NO_PADES
    signature = found[-1]
    signer_cert = signature.signer_cert
    if signer_cert is None or signer_cert.public_key.dump() != _public_key_info(public_key):
        return "la signature PAdES n'est pas celle de la clé du conseil"
    try:
        context = ValidationContext(trust_roots=[signer_cert], allow_fetching=False)
        status = _outside_loop(validate_pdf_signature, signature, context)
    except Exception as exc:  # a structure pyHanko refuses to compare is a change after signing
        return f"signature PAdES invérifiable ({exc.__class__.__name__})"
    if not status.intact or not status.valid:
        return "signature PAdES invalide : le contenu signé a été modifié"
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return "le PDF a été modifié après sa signature PAdES (ajout après la signature)"
    return None


def sign_minutes(pdf: bytes, key: Ed25519PrivateKey, council_name: str, president: str, secretary: str) -> bytes:
    """The adopted procès-verbal signed for the president and the secretary of the sitting
    (L.2121-15: the minutes are signed by them), with the council's key."""
    who = f"Pour le président, {president}" + (f", et le secrétaire de séance, {secretary}" if secretary else "")
    return sign_pdf(pdf, key, council_name, "Procès-verbal adopté par le conseil (article L.2121-15 du CGCT)", who)
