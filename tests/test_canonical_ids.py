"""Only the exact text the server writes is a global id or a cursor: another spelling of
the same object (``Task:01``, padding, white space, the other base64 alphabet, unused
bits set, re-spaced JSON) is answered like an id or cursor that names nothing."""

from __future__ import annotations

import base64
import binascii
import json

from mcgraph.api.ids import decode_id, encode_id
from mcgraph.db.models import Role
from mcgraph.db.pagination import encode_cursor
from tests.helpers import error_codes, members, mutate, succeed, user_error_codes

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def lenient(text: str) -> bytes:
    """What a forgiving base64 decoder reads in ``text`` (the decoder before this fix)."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def reads_as(text: str, raw: bytes) -> bool:
    try:
        return lenient(text) == raw
    except (binascii.Error, ValueError):
        return False


def respellings(canonical: str, raw: bytes) -> list[str]:
    """Other spellings of ``canonical`` (the base64 of ``raw``) that the forgiving decoder reads as ``raw``."""
    spelled = [
        canonical + "=" * (-len(canonical) % 4),  # padded
        canonical + "====",
        "    " + canonical,  # white space or junk, four characters so that the padding still fits
        canonical[:3] + "\r\n\r\n" + canonical[3:],
        canonical[:2] + "!!!!" + canonical[2:],
        canonical.replace("-", "+").replace("_", "/"),  # the standard alphabet
    ]
    unused = (len(raw) * 8) % 6  # bits of the last character beyond the data: 0, 2 or 4 of its 6
    if unused:
        last = B64.index(canonical[-1])
        spelled.append(canonical[:-1] + B64[last | ((1 << (6 - unused)) - 1)])
    found = [s for s in dict.fromkeys(spelled) if s != canonical and reads_as(s, raw)]
    assert len(found) >= 4, found
    return found


def test_only_the_written_form_decodes():
    for pk in (1, 12, 123, 1234, 98765):
        canonical = encode_id("Team", pk)
        assert decode_id(canonical) == ("Team", pk)
        zeros = [b64(f"Team:0{pk}".encode()), b64(f"Team:00{pk}".encode())]
        for other in [*zeros, *respellings(canonical, f"Team:{pk}".encode())]:
            assert decode_id(other) is None, other


NODE = "query($id: ID!) { node(id: $id) { id } }"


async def test_another_spelling_of_an_id_names_nothing(gql, acme):
    owner = acme[Role.OWNER]
    team = (await succeed(gql, "createTeam", {"name": "Ops"}, owner))["team"]
    pk = decode_id(team["id"])[1]
    others = [b64(f"Team:0{pk}".encode()), *respellings(team["id"], f"Team:{pk}".encode())]
    assert (await gql.data(NODE, {"id": team["id"]}, token=owner))["node"] == {"id": team["id"]}
    for other in others:
        assert (await gql.data(NODE, {"id": other}, token=owner))["node"] is None, other
        renamed = await mutate(gql, "updateTeam", {"teamId": other, "name": "Renamed"}, owner)
        assert user_error_codes(renamed) == ["NOT_FOUND"], other
    assert (await gql.data(NODE.replace("{ id }", "{ ... on Team { name } }"), {"id": team["id"]}, token=owner))["node"] == {"name": "Ops"}


async def test_another_spelling_of_a_cursor_belongs_to_no_list(gql, acme):
    owner = acme[Role.OWNER]
    page = await members(gql, owner, first=2)
    cursor = page["pageInfo"]["endCursor"]
    after = await members(gql, owner, first=2, after=cursor)
    assert after["edges"], "a second page to compare with"
    values = json.loads(lenient(cursor))
    assert encode_cursor(values) == cursor
    others = [b64(json.dumps(values).encode()), *respellings(cursor, lenient(cursor))]  # re-spaced JSON, then as for ids
    for other in others:
        answer = await gql(
            "query($after: String) { viewer { organization { members(first: 2, after: $after) { totalCount } } } }",
            {"after": other},
            token=owner,
        )
        assert error_codes(answer) == ["BAD_USER_INPUT"], (other, answer)
