"""The checks the token endpoint makes on an OAuth 2.0 JWT bearer assertion (RFC 7523).

Salesforce Help, "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration": the client posts
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and ``assertion=<JWT>``, a JWT signed
RS256 with the private key of the certificate uploaded to the connected app, whose claims are
``iss`` (the connected app's consumer key), ``sub`` (the username), ``aud`` (the login host:
``https://login.salesforce.com``, ``https://test.salesforce.com`` for a sandbox org) and ``exp``
(the expiry, within 3 minutes, in seconds since the epoch; simple-salesforce sends it as a
string). Errors are the standard OAuth answer, HTTP 400 ``{"error", "error_description"}``;
the descriptions are the ones Salesforce gives and integrators report: ``invalid assertion``
(malformed or wrongly signed), ``audience is invalid``, ``expired authorization code`` (an
expired assertion), ``user hasn't approved this consumer`` (a user not pre-authorized for the
app), and ``invalid_client_id`` / ``client identifier invalid`` for an unknown consumer key.

The signature is verified with the ``cryptography`` package against the configured certificate
(a PEM certificate or public key).
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: How far ahead ``exp`` may be: Salesforce's 3 minutes, and room for the clocks to disagree.
MAX_VALIDITY_SECONDS = 180 + 120

Refusal = tuple[str, str]  # (error, error_description)
_INVALID: Refusal = ("invalid_grant", "invalid assertion")


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def public_key(pem: str) -> rsa.RSAPublicKey | None:
    """The RSA public key of a PEM certificate (or PEM public key); None if it is neither."""
    data = pem.encode()
    try:
        key: Any = x509.load_pem_x509_certificate(data).public_key()
    except ValueError:
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError:
            return None
    return key if isinstance(key, rsa.RSAPublicKey) else None


def check_assertion(assertion: str, *, consumer_key: str | None, certificate: str | None, audience: str,
                    username: str, now: float) -> Refusal | None:
    """Why the token endpoint refuses ``assertion`` (``(error, description)``), or None to grant it."""
    parts = assertion.split(".")
    if len(parts) != 3:
        return _INVALID
    try:
        header, claims = json.loads(_b64(parts[0])), json.loads(_b64(parts[1]))
        signature = _b64(parts[2])
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return _INVALID
    if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") != "RS256":
        return _INVALID
    key = public_key(certificate) if certificate else None
    if key is None or not consumer_key or claims.get("iss") != consumer_key:
        return ("invalid_client_id", "client identifier invalid")
    try:
        key.verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return _INVALID
    aud = claims.get("aud")
    if audience not in (aud if isinstance(aud, list) else [aud]):
        return ("invalid_grant", "audience is invalid")
    try:
        exp = float(claims["exp"])
    except (KeyError, TypeError, ValueError):
        return _INVALID
    if exp <= now:
        return ("invalid_grant", "expired authorization code")
    if exp > now + MAX_VALIDITY_SECONDS:
        return _INVALID
    if str(claims.get("sub") or "").lower() != username.lower():
        return ("invalid_grant", "user hasn't approved this consumer")
    return None
