"""Secrets kept for automation actions: encrypted at rest, masked everywhere they are shown.

An action declares which of its params are secrets (``send_webhook``'s ``secret``, a
plugin's ``secret_params``). Such a value is stored as ``enc:v1:<Fernet token>``: AES-128
in CBC mode with an HMAC-SHA256, under a key derived (HKDF-SHA256) from
``MCGRAPH_SECRET_KEY``. The keys of ``MCGRAPH_SECRET_KEY_PREVIOUS`` (comma-separated) still
decrypt, so a key can be changed without losing what was stored; :meth:`Keyring.rotate` then
re-encrypts a value with the current key (``mcgraph secrets rotate`` does it for every
stored secret).

Events, answers, dry runs and error messages never carry a secret: :func:`mask_params`
puts :data:`MASK` in its place and :func:`scrub` removes known secret values from text.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "enc:v1:"
MASK = "********"
SCRUBBED = "[redacted]"
# Separates the keys derived for stored secrets from any other use of MCGRAPH_SECRET_KEY.
_INFO = b"mcgraph automation action secrets v1"


_UNREADABLE = (
    "A stored secret cannot be decrypted with MCGRAPH_SECRET_KEY nor any key of "
    "MCGRAPH_SECRET_KEY_PREVIOUS; set the key it was saved with, or save the secret again."
)


class SecretUnreadable(Exception):
    """A stored secret was encrypted with a key that is neither current nor previous."""


def _fernet(key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(key.encode("utf-8"))
    return Fernet(base64.urlsafe_b64encode(derived))


@dataclass(frozen=True)
class Keyring:
    """The current key (encrypts and decrypts) and previous ones (decrypt only)."""

    current: str = field(repr=False)
    previous: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def of(cls, settings: Any) -> Keyring:
        """The keyring of ``settings``: ``MCGRAPH_SECRET_KEY`` and ``MCGRAPH_SECRET_KEY_PREVIOUS``."""
        previous = tuple(key.get_secret_value() for key in getattr(settings, "secret_key_previous", ()))
        return cls(settings.secret_key.get_secret_value(), previous)

    @cached_property
    def _cipher(self) -> MultiFernet:
        return MultiFernet([_fernet(key) for key in (self.current, *self.previous)])

    def encrypt(self, plain: str) -> str:
        return PREFIX + self._cipher.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        """The plain value; a value stored before encryption (no prefix) is returned as is."""
        if not is_encrypted(stored):
            return stored
        try:
            return self._cipher.decrypt(stored[len(PREFIX) :].encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise SecretUnreadable(_UNREADABLE) from None

    def rotate(self, stored: str) -> str:
        """``stored`` encrypted with the current key (a plain value is encrypted)."""
        if not is_encrypted(stored):
            return self.encrypt(stored)
        try:
            return PREFIX + self._cipher.rotate(stored[len(PREFIX) :].encode("ascii")).decode("ascii")
        except InvalidToken:
            raise SecretUnreadable(_UNREADABLE) from None


def is_encrypted(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


# --- params of one action -------------------------------------------------------------


def seal_params(params: Mapping[str, Any], secret_names: Iterable[str], keyring: Keyring) -> dict[str, Any]:
    """``params`` with each secret (a non-empty string) encrypted."""
    values = dict(params)
    for name in secret_names:
        value = values.get(name)
        if isinstance(value, str) and value and not is_encrypted(value):
            values[name] = keyring.encrypt(value)
    return values


def open_params(params: Mapping[str, Any], secret_names: Iterable[str], keyring: Keyring) -> dict[str, Any]:
    """``params`` with each secret decrypted, for the action to use."""
    values = dict(params)
    for name in secret_names:
        if isinstance(values.get(name), str):
            values[name] = keyring.decrypt(values[name])
    return values


def mask_params(params: Mapping[str, Any], secret_names: Iterable[str]) -> dict[str, Any]:
    """``params`` with each secret that is set shown as :data:`MASK`."""
    values = dict(params)
    for name in secret_names:
        if values.get(name) not in (None, ""):
            values[name] = MASK
    return values


def mask_actions(actions: Any, secrets_of: Any) -> Any:
    """A rule's actions (``[{"type", "params"}]``) with their secrets masked.

    ``secrets_of(type)`` names the secret params of an action type. Anything that is not a
    list of actions is returned as is.
    """
    if not isinstance(actions, list):
        return actions
    masked = []
    for action in actions:
        if isinstance(action, Mapping) and isinstance(action.get("params"), Mapping):
            action = {**action, "params": mask_params(action["params"], secrets_of(str(action.get("type"))))}
        masked.append(action)
    return masked


def secret_values(actions: Sequence[Mapping[str, Any]], secrets_of: Any, keyring: Keyring) -> list[str]:
    """The plain values of every secret of ``actions`` (for :func:`scrub`); unreadable ones are skipped."""
    found: list[str] = []
    for action in actions:
        params = action.get("params") if isinstance(action, Mapping) else None
        if not isinstance(params, Mapping):
            continue
        for name in secrets_of(str(action.get("type"))):
            value = params.get(name)
            if isinstance(value, str) and value:
                try:
                    found.append(keyring.decrypt(value))
                except SecretUnreadable:
                    continue
    return found


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (raw or base64-encoded, and a ``whsec_`` secret's key)
    replaced by :data:`SCRUBBED`."""
    forms: set[str] = set()
    for secret in secrets:
        if len(secret) >= 3:  # a one- or two-character secret would blank out ordinary text
            forms.add(secret)
            forms.add(base64.b64encode(secret.encode("utf-8")).decode("ascii"))
            if secret.startswith("whsec_") and len(secret) > 9:  # a webhook secret's key, base64
                forms.add(secret.removeprefix("whsec_"))
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, SCRUBBED)
    return text


# --- what is already stored: events written before, secrets kept in clear ---------------


def scrub_event_data(data: Any, secrets_of: Any) -> dict[str, Any] | None:
    """An event's data with the secrets of the rule actions it carries masked; None when
    there was nothing to mask. Rule actions appear as ``changes.actions`` (before, after)."""
    if not isinstance(data, Mapping):
        return None
    changes = data.get("changes")
    pair = changes.get("actions") if isinstance(changes, Mapping) else None
    if not isinstance(pair, list):
        return None
    masked = [mask_actions(side, secrets_of) for side in pair]
    if masked == pair:
        return None
    return {**data, "changes": {**changes, "actions": masked}}


def rotate_actions(actions: Any, secrets_of: Any, keyring: Keyring) -> list[dict[str, Any]] | None:
    """A rule's stored actions with every secret encrypted with the current key (those in
    clear encrypted); None when none was stored."""
    if not isinstance(actions, list):
        return None
    rotated, touched = [], False
    for action in actions:
        params = action.get("params") if isinstance(action, Mapping) else None
        if isinstance(params, Mapping):
            values = dict(params)
            for name in secrets_of(str(action.get("type"))):
                if isinstance(values.get(name), str) and values[name]:
                    values[name] = keyring.rotate(values[name])
                    touched = True
            action = {**action, "params": values}
        rotated.append(action)
    return rotated if touched else None
