"""Comments on a project or a task, with @mentions of the organisation's members.

A mention is ``@<e-mail>`` (``@mo@demo.test``) or ``@<local part>`` (``@mo``) when
exactly one member's address starts with that local part. Anything else after an
``@`` stays plain text: an unknown mention is not an error.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import delete, or_, select

from mcgraph.db.models import Comment, CommentMention, Membership, User
from mcgraph.domain.errors import UserError, UserErrorCode
from mcgraph.domain.permissions import Action, can
from mcgraph.domain.projects import get_project
from mcgraph.domain.tasks import get_task
from mcgraph.domain.unit import Unit
from mcgraph.domain.queries import escape_like

MAX_BODY = 20_000
MAX_MENTIONS = 50  # distinct tokens looked up per comment; later ones stay text
MENTION = re.compile(r"(?<![\w.%+@-])@([\w.%+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)")


def mention_tokens(body: str) -> list[str]:
    """The distinct ``@`` tokens of ``body``, lower-cased, in order of first appearance."""
    tokens: dict[str, None] = {}
    for raw in MENTION.findall(body):
        token = raw.rstrip(".").lower()
        if token:
            tokens.setdefault(token)
    return list(tokens)[:MAX_MENTIONS]


async def resolve_mentions(unit: Unit, body: str) -> list[int]:
    """Ids of the organisation's members that ``body`` mentions, in order of appearance."""
    tokens = mention_tokens(body)
    if not tokens:
        return []
    wanted = []
    for token in tokens:
        if "@" in token:
            wanted.append(User.email == token)
        else:
            wanted.append(User.email.like(escape_like(token) + "@%", escape="\\"))
    rows = await unit.session.execute(
        select(User.id, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == unit.actor.organization_id, or_(*wanted))
    )
    by_email: dict[str, int] = {email.lower(): user_id for user_id, email in rows}
    by_local: dict[str, list[int]] = {}
    for email, user_id in by_email.items():
        by_local.setdefault(email.split("@", 1)[0], []).append(user_id)
    found: list[int] = []
    for token in tokens:
        if "@" in token:
            candidates = [by_email[token]] if token in by_email else []
        else:
            candidates = by_local.get(token, [])
        if len(candidates) == 1 and candidates[0] not in found:
            found.append(candidates[0])
    return found


async def get_comment(unit: Unit, comment_id: int, field: str = "commentId") -> Comment:
    comment = await unit.session.get(Comment, comment_id)
    if comment is None or comment.organization_id != unit.actor.organization_id:
        raise UserError.one(field, "No such comment.", UserErrorCode.NOT_FOUND)
    return comment


async def add_comment(unit: Unit, *, body: str, project_id: int | None = None, task_id: int | None = None) -> Comment:
    """Comment on a project or on a task (exactly one of them)."""
    if (project_id is None) == (task_id is None):
        raise UserError.one("projectId", "Comment on exactly one of a project (projectId) and a task (taskId).", UserErrorCode.INVALID)
    text = _check_body(body)
    if task_id is not None:
        task = await get_task(unit, task_id)
        event_project_id = task.project_id
    else:
        project = await get_project(unit, project_id)  # type: ignore[arg-type]
        event_project_id = project.id
    comment = Comment(
        organization_id=unit.actor.organization_id,
        project_id=project_id,
        task_id=task_id,
        author_id=unit.actor.person_id,
        body=text,
        created_at=unit.now,
    )
    unit.session.add(comment)
    await unit.session.flush()
    mentions = await resolve_mentions(unit, text)
    _add_mentions(unit, comment, mentions)
    unit.record("comment.added", comment, project_id=event_project_id, task_id=task_id, mentions=mentions)
    await unit.session.flush()
    return comment


async def edit_comment(unit: Unit, comment_id: int, body: str) -> Comment:
    """Change a comment's text; only its author may. Mentions follow the new text."""
    comment = await get_comment(unit, comment_id)
    if comment.author_id != unit.actor.user_id:
        raise UserError.one("commentId", "Only the author may edit a comment.", UserErrorCode.FORBIDDEN)
    text = _check_body(body)
    if text == comment.body:
        return comment
    before = comment.body
    comment.body = text
    comment.edited_at = unit.now
    mentions = await resolve_mentions(unit, text)
    previous = list(await unit.session.scalars(select(CommentMention.user_id).where(CommentMention.comment_id == comment.id)))
    gone = set(previous) - set(mentions)
    if gone:
        await unit.session.execute(
            delete(CommentMention).where(CommentMention.comment_id == comment.id, CommentMention.user_id.in_(gone))
        )
    _add_mentions(unit, comment, [user_id for user_id in mentions if user_id not in previous])
    unit.record(
        "comment.edited",
        comment,
        project_id=await _project_of(unit, comment),
        task_id=comment.task_id,
        mentions=mentions,
        changes={"body": (before, text)},
    )
    await unit.session.flush()
    return comment


async def delete_comment(unit: Unit, comment_id: int) -> Comment:
    """Delete a comment: its author may, and so may those who manage projects."""
    comment = await get_comment(unit, comment_id)
    if comment.author_id != unit.actor.user_id and not can(unit.actor, Action.PROJECT_MANAGE):
        raise UserError.one("commentId", "Only the author or a project manager may delete a comment.", UserErrorCode.FORBIDDEN)
    unit.record("comment.deleted", comment, project_id=await _project_of(unit, comment), task_id=comment.task_id)
    await unit.session.delete(comment)
    await unit.session.flush()
    return comment


def _check_body(body: str | None) -> str:
    text = (body or "").strip()
    if not text:
        raise UserError.one("body", "A comment needs some text.", UserErrorCode.REQUIRED)
    if len(text) > MAX_BODY:
        raise UserError.one("body", f"A comment has at most {MAX_BODY:,} characters; this one has {len(text):,}.", UserErrorCode.TOO_LONG)
    return text


def _add_mentions(unit: Unit, comment: Comment, user_ids: Sequence[int]) -> None:
    unit.session.add_all(
        CommentMention(organization_id=comment.organization_id, comment_id=comment.id, user_id=user_id) for user_id in user_ids
    )


async def _project_of(unit: Unit, comment: Comment) -> int | None:
    if comment.project_id is not None:
        return comment.project_id
    task = await get_task(unit, comment.task_id)  # type: ignore[arg-type]
    return task.project_id
