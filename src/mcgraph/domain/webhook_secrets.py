"""Webhook signing secrets in the Standard Webhooks form: ``whsec_`` and base64.

The key that signs a delivery is the base64-decoded part after ``whsec_``, as every
Standard Webhooks library reads it (https://www.standardwebhooks.com), so a receiver gives
the library the very string it gave mcgraph. A new secret is refused unless it has that
form and decodes strictly to 24 to 64 bytes, the sizes the specification asks for.

Secrets saved before this form was required are kept and go on working: a stored secret
without the prefix signs with its own UTF-8 bytes, as it always did (:func:`signing_key`).
Its receiver can verify with the Standard Webhooks libraries by giving them
``whsec_`` + base64 of the old secret, or the old secret's bytes.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets

PREFIX = "whsec_"
MIN_BYTES, MAX_BYTES = 24, 64
GENERATED_BYTES = 32
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_FORM = (
    f"A webhook secret is {PREFIX} followed by the base64 of {MIN_BYTES} to {MAX_BYTES} random bytes "
    f"(the Standard Webhooks form, e.g. {PREFIX}" + "A" * 43 + "=)"
)


def generate() -> str:
    """A new random secret in the ``whsec_`` form (32 bytes)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(GENERATED_BYTES)).decode("ascii")


def problem(value: object, *, keep: str | None = None) -> str | None:
    """Why ``value`` cannot be saved as a new webhook secret; None when it can.

    No secret (None or ``""``) and ``keep`` (the mask that stands for the saved secret)
    are not new secrets, so they pass here.
    """
    if value in (None, "") or (keep is not None and value == keep):
        return None
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return f"{_FORM}; to keep a secret a receiver already has, send {PREFIX} + the base64 of its bytes."
    encoded = value[len(PREFIX) :]
    if not _BASE64.fullmatch(encoded) or len(encoded) % 4:
        return f"{_FORM}: what follows {PREFIX} is not padded standard base64."
    size = len(base64.b64decode(encoded))
    if not MIN_BYTES <= size <= MAX_BYTES:
        return f"{_FORM}: this one decodes to {size} bytes."
    return None


def signing_key(secret: str | bytes) -> bytes:
    """The HMAC key of a secret as configured: the decoded bytes of a ``whsec_`` secret,
    the UTF-8 bytes of any other (a secret saved before the form was required)."""
    raw = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    if raw.startswith(PREFIX.encode()):
        encoded = raw[len(PREFIX) :]
        try:  # unpadded base64 is read as the libraries read it
            return base64.b64decode(encoded + b"=" * (-len(encoded) % 4), validate=True)
        except (binascii.Error, ValueError):
            return raw  # saved before secrets were checked: its bytes, as then
    return raw
