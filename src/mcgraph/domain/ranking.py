"""Order keys for lists that users reorder: moving one item rewrites only that item.

A key is ten base-62 digits (an integer, fixed width, so keys compare as strings) and,
when two neighbours leave no integer between them, more digits after (a fraction).
Appending steps the integer by :data:`STEP`; inserting between two keys takes the
midpoint, so a list of millions of appends keeps keys ten characters long.
"""

from __future__ import annotations

DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
BASE = len(DIGITS)
WIDTH = 10
STEP = BASE**4
_TOP = BASE**WIDTH


def _to_int(key: str) -> int:
    value = 0
    for char in key[:WIDTH]:
        value = value * BASE + DIGITS.index(char)
    return value


def _from_int(value: int) -> str:
    chars = []
    for _ in range(WIDTH):
        value, digit = divmod(value, BASE)
        chars.append(DIGITS[digit])
    return "".join(reversed(chars))


def first_key() -> str:
    return _from_int(_TOP // 2)


def key_between(before: str | None, after: str | None) -> str:
    """A key strictly between ``before`` and ``after`` (either may be None: an open end)."""
    if before is not None and after is not None and not before < after:
        raise ValueError(f"keys out of order: {before!r} !< {after!r}")
    if before is None and after is None:
        return first_key()
    if after is None:
        assert before is not None
        stepped = _to_int(before) + STEP
        if stepped < _TOP:
            return _from_int(stepped)
    if before is None:
        assert after is not None
        stepped = _to_int(after) - STEP
        if stepped > 0 and len(after) == WIDTH:
            return _from_int(stepped)
    return _midpoint(before or "", after)


def _midpoint(low: str, high: str | None) -> str:
    """The shortest digit string strictly between ``low`` and ``high`` as base-62 fractions.

    No key produced ends in the digit 0, so there is always room below any key.
    """
    result: list[str] = []
    i = 0
    while True:
        lo = DIGITS.index(low[i]) if i < len(low) else 0
        hi = DIGITS.index(high[i]) if high is not None and i < len(high) else (BASE if high is None else 0)
        if lo == hi:
            result.append(DIGITS[lo])
            i += 1
            continue
        middle = (lo + hi) // 2
        if middle > lo:
            result.append(DIGITS[middle])
            return "".join(result)
        result.append(DIGITS[lo])  # lo + 1 == hi: anything longer above low fits
        high = None
        i += 1
