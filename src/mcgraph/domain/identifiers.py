"""Identifiers people type and others recognise: e-mails, slugs, project and process keys,
team, user and token names.

Two strings that look the same must be the same identifier, or one of them refused:

* every identifier is normalised to Unicode NFKC before it is compared or stored, so a
  full-width, ligature or compatibility form is the plain one (``ＯＰＳ`` is ``OPS``,
  ``ﬁ`` is ``fi``, a no-break space is a space);
* an identifier holding an invisible character (zero-width space and joiners, word
  joiner, byte-order mark, Hangul fillers, ...), a bidirectional control (embeddings,
  overrides, isolates, the marks U+200E, U+200F and U+061C) or any other format or
  control character is refused (code INVALID in ``userErrors``, BAD_USER_INPUT as a
  top-level error): nothing tells it apart from the identifier without it.

Lookups (a key given to find a process, say) use :func:`normalize` alone: a string that
could not have been stored finds nothing.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from mcgraph.domain.errors import UserError, UserErrorCode

# Invisible, but of a category that is not "format" (Cf) or "control" (Cc): the
# combining grapheme joiner, Hangul fillers, the braille blank and the variation selectors.
_INVISIBLE = frozenset(
    "\u034f\u115f\u1160\u17b4\u17b5\u2800\u3164\uffa0" + "".join(chr(c) for c in range(0xFE00, 0xFE10))
)
# Categories refused: Cf holds the zero-width characters (U+200B-U+200D, U+2060, U+FEFF)
# and every bidirectional control (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069);
# Cc the C0 and C1 controls (tabs, newlines, NUL); Co and Cs private and lone surrogates.
_REFUSED_CATEGORIES = frozenset({"Cf", "Cc", "Co", "Cs"})


def normalize(value: str) -> str:
    """``value`` in NFKC, without surrounding white space."""
    return unicodedata.normalize("NFKC", value).strip()


def hidden_character(value: str) -> str | None:
    """The first character of ``value`` that cannot be seen or changes the text's direction."""
    for character in value:
        if character in _INVISIBLE or unicodedata.category(character) in _REFUSED_CATEGORIES:
            return character
    return None


def identifier(value: str, field: str | Sequence[str]) -> str:
    """``value`` normalised (NFKC, stripped); a UserError on ``field`` if it hides a character."""
    normal = normalize(value)
    hidden = hidden_character(normal)
    if hidden is not None:
        name = unicodedata.name(hidden, "a control character")
        raise UserError.one(
            field,
            f"The text holds an invisible or direction-changing character (U+{ord(hidden):04X}, {name}); "
            "type it without.",
            UserErrorCode.INVALID,
        )
    return normal


def key(value: str, field: str | Sequence[str] = "key") -> str:
    """A project or process key as stored: an identifier, upper-cased (the pattern is the caller's)."""
    return identifier(value, field).upper()


def lookup_key(value: str) -> str:
    """A key given to find a project or process, compared as :func:`key` stores them."""
    return normalize(value).upper()
