"""Properties of Idempotency-Key values, against the rule of :mod:`mcgraph.api.idempotency`.

The oracle: a key is accepted when it is 1 to 255 characters, each printable ASCII
(space 0x20 to tilde 0x7E), and not only spaces; every other key is refused with
400 BAD_USER_INPUT.
"""

from __future__ import annotations

import string

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mcgraph.api.http import Refusal
from mcgraph.api.idempotency import MAX_KEY_LENGTH, checked_key

PRINTABLE = "".join(chr(code) for code in range(0x20, 0x7F))
assert PRINTABLE == " " + "".join(sorted(set(string.printable) - set(string.whitespace)))

printable_keys = st.text(alphabet=PRINTABLE, min_size=1, max_size=MAX_KEY_LENGTH).filter(lambda key: key.strip(" "))
# any character at all, biased towards the edges of the printable range
edge_characters = st.sampled_from(["\x00", "\x1f", "\x7f", "\x80", "\t", "\n", "\r", "\xa0", "\u2028", "é", "\U0001f600"])
any_keys = st.text(alphabet=st.one_of(st.characters(), edge_characters, st.sampled_from(PRINTABLE)), max_size=MAX_KEY_LENGTH + 5)


def accepted(key: str) -> bool:
    """The rule, stated independently of the code."""
    return 1 <= len(key) <= MAX_KEY_LENGTH and all(0x20 <= ord(char) <= 0x7E for char in key) and set(key) != {" "}


@given(printable_keys)
@example(" x")
@example("x ")
@example(" " * 3 + "~")
@example("~" * MAX_KEY_LENGTH)
def test_every_printable_key_of_1_to_255_characters_is_accepted(key):
    assert checked_key([key]) == key


@given(any_keys)
@example("")
@example(" ")
@example(" " * MAX_KEY_LENGTH)
@example("k" * (MAX_KEY_LENGTH + 1))
@example("a\x1f")
@example("a\x7f")
@example("a b")
@example("~")
def test_a_key_is_accepted_exactly_when_the_rule_says(key):
    if accepted(key):
        assert checked_key([key]) == key
    else:
        with pytest.raises(Refusal) as refused:
            checked_key([key])
        assert (refused.value.status, refused.value.code) == (400, "BAD_USER_INPUT")


@given(st.lists(printable_keys, min_size=2, max_size=3))
def test_more_than_one_key_header_is_refused(keys):
    with pytest.raises(Refusal) as refused:
        checked_key(keys)
    assert (refused.value.status, refused.value.code) == (400, "BAD_USER_INPUT")
