"""The rules of a stage boundary: what the project board must have done before a move.

Plain functions over plain values, so that they are tested without a database.
"""

from __future__ import annotations

from collections.abc import Sequence

from mcgraph_prince2.methodology import stage_name


BOARD_ROLES = ("executive", "senior_user", "senior_supplier")


def board_problems(roles: Sequence[str], user_ids: Sequence[int]) -> list[tuple[str, str]]:
    """What is wrong with a board of these members, as ``(field, message)`` pairs.

    Every role is one of :data:`BOARD_ROLES`, nobody sits twice, and a board that has
    members has exactly one executive, who owns the business case.
    """
    problems: list[tuple[str, str]] = []
    unknown = sorted({role for role in roles if role not in BOARD_ROLES})
    if unknown:
        problems.append(("members", f"Unknown board role {', '.join(unknown)}; the roles are: {', '.join(BOARD_ROLES)}."))
    if len(set(user_ids)) != len(user_ids):
        problems.append(("members", "A person sits on the board once."))
    executives = sum(1 for role in roles if role == "executive")
    if roles and executives != 1:
        problems.append(("members", f"A project board has exactly one executive; this one has {executives}."))
    return problems


def effective_quorum(stored: int | None, default: int) -> int:
    """The approvals a boundary needs: the project's own quorum, else the default."""
    return stored if stored is not None else default


def quorum_problem(quorum: int, board_size: int) -> str | None:
    """What is wrong with a quorum for a board of ``board_size``, in words; None when fine."""
    if quorum < 1:
        return "A quorum is at least 1."
    if quorum > board_size:
        return f"A quorum of {quorum} cannot be met by a board of {board_size}."
    return None


def approval_shortfall(quorum: int, board_size: int, approvers: Sequence[str]) -> str | None:
    """Why the approvals given fall short of the quorum, or None when they suffice.

    ``approvers`` are the names of the distinct board members who approved.
    """
    given = len(approvers)
    if given >= quorum:
        return None
    if board_size == 0:
        return "no project board: set one before moving to a gated stage"
    who = f" ({', '.join(approvers)})" if approvers else ""
    return f"{quorum} of {board_size} board approvals needed; {given} given{who}"


def boundary_refusals(
    from_stage: str,
    *,
    has_report: bool,
    quorum: int,
    board_size: int,
    approvers: Sequence[str],
) -> list[str]:
    """Every reason to refuse moving out of ``from_stage``; empty when the board authorised it."""
    reasons: list[str] = []
    if not has_report:
        reasons.append(f"no end-stage report for {stage_name(from_stage)}")
    shortfall = approval_shortfall(quorum, board_size, approvers)
    if shortfall is not None:
        reasons.append(shortfall)
    return reasons


def boundary_key(from_stage: str, to_stage: str) -> str:
    """How a boundary is named in events and messages: ``initiating->delivery_1``."""
    return f"{from_stage}->{to_stage}"
