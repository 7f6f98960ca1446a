"""The DTLS certificate of a connection (RFC 8827 section 6.5: a self-signed
certificate, authenticated by its fingerprint in the signed-over SDP, RFC 8122)."""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

#: RFC 8122 section 5 hash names -> the digest; sha-256 is what browsers send and expect
DIGESTS: dict[str, hashes.HashAlgorithm] = {
    "sha-256": hashes.SHA256(),
    "sha-384": hashes.SHA384(),
    "sha-512": hashes.SHA512(),
}


def fingerprint(certificate: x509.Certificate, algorithm: str = "sha-256") -> str:
    """``AB:CD:...``, the form of ``a=fingerprint`` (RFC 8122 section 5)."""
    digest = certificate.fingerprint(DIGESTS[algorithm]).hex().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


@dataclass(frozen=True)
class Certificate:
    key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.certificate)

    @classmethod
    def generate(cls) -> Certificate:
        """An ECDSA P-256 key and a certificate valid 30 days (as browsers make theirs)."""
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, os.urandom(16).hex())])
        now = datetime.datetime.now(tz=datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256())
        )
        return cls(key=key, certificate=cert)
