"""Running automations: from a committed event to each rule's actions, on Dramatiq.

1. **Dispatch** (in the relay, after commit): for each new event, the enabled rules of
   its organisation that listen to its type and whose filter holds get one
   :class:`~mcgraph.db.models.AutomationRun` each (unique per rule and event, so a
   second dispatch of the same event adds nothing), and a message per new run goes to
   the broker. An event whose dispatch failed stays unpublished, and the relay's sweep
   dispatches it again.
2. **Execute** (a worker): the run is claimed (QUEUED or FAILED -> RUNNING, one worker
   wins), its condition checked on fresh state, then each action not yet done runs in
   a transaction of its own that also records its result (the first one's is the
   claim's, the last one's ends the run; a webhook is sent before its transaction). A failure schedules a retry
   with exponential backoff; after ``MCGRAPH_AUTOMATION_MAX_ATTEMPTS`` the run is DEAD.
   A failure that no retry can mend (the input refused) makes it DEAD at once. Each
   action's transaction locks the run's row and skips an action already done, so even
   two workers on one run (a redelivered message, one thought stuck) make one effect.
3. **Chains.** Events an automation writes carry ``automation: {run, rule, depth}``; a
   run for such an event is one deeper, and one deeper than
   ``MCGRAPH_AUTOMATION_MAX_DEPTH`` is DEAD at once, with the reason.
"""

from __future__ import annotations

import asyncio
import traceback
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from mcgraph.db import versions
from mcgraph.db.models import AutomationRule, AutomationRun, AutomationRunState, Event
from mcgraph.domain import expressions, secrets
from mcgraph.domain.automation_actions import ActionFailed, known_secrets, opened, outside_part, perform
from mcgraph.domain.automations import holds, listens_to, names_for
from mcgraph.domain.errors import RequestError, UserError
from mcgraph.logs import get_logger
from mcgraph.runtime import Runtime

SWEEP_BATCH = 1000

log = get_logger("mcgraph.automation")

CLAIMABLE = (AutomationRunState.QUEUED, AutomationRunState.FAILED)
MAX_DELAY = timedelta(hours=1)


async def dispatch(runtime: Runtime, event_ids: Sequence[int]) -> list[tuple[int, int]]:
    """Create the runs the events call for; the new QUEUED runs, as (run id, organisation id)."""
    if not event_ids:
        return []
    settings = runtime.settings
    # one transaction reads the events and rules and writes the runs (one connection, not two)
    async with runtime.database.transaction() as session:
        events = list(await session.scalars(select(Event).where(Event.id.in_(list(event_ids))).order_by(Event.id)))
        organizations = {event.organization_id for event in events}
        rules: dict[int, list[AutomationRule]] = defaultdict(list)
        for rule in await session.scalars(
            select(AutomationRule).where(AutomationRule.organization_id.in_(organizations), AutomationRule.enabled.is_(True))
        ):
            rules[rule.organization_id].append(rule)
        rows: list[dict[str, Any]] = []
        now = runtime.clock.now()
        for event in events:
            # a rule acts on what happens once it exists, however late the relay hands an event on
            listening = [
                rule
                for rule in rules.get(event.organization_id, ())
                if listens_to(rule, event) and event.occurred_at >= rule.created_at
            ]
            if not listening:
                continue
            names = await names_for(session, event)
            cause = (event.data or {}).get("automation") or {}
            depth = int(cause.get("depth", 0)) + 1
            for rule in listening:
                try:
                    if not holds(rule.trigger_filter, "", names):
                        continue
                except Exception:  # noqa: BLE001 - a filter that cannot be checked does not match
                    log.exception("automation filter failed", rule_id=rule.id, event_id=event.id)
                    continue
                too_deep = depth > settings.automation_max_depth
                rows.append(
                    {
                        "organization_id": event.organization_id,
                        "rule_id": rule.id,
                        "event_id": event.id,
                        "depth": depth,
                        "state": AutomationRunState.DEAD if too_deep else AutomationRunState.QUEUED,
                        "error": (
                            f"Stopped: a chain of automations deeper than {settings.automation_max_depth} "
                            f"(MCGRAPH_AUTOMATION_MAX_DEPTH); event {event.id} was written by run {cause.get('run')}."
                        )
                        if too_deep
                        else None,
                        "max_attempts": settings.automation_max_attempts,
                        "results": [],
                        "attempts": 0,
                        "queued_at": now,
                        "finished_at": now if too_deep else None,
                    }
                )
        if not rows:
            return []
        versions.changed(session, {row["organization_id"] for row in rows})  # their automation runs
        insert = postgresql.insert if runtime.database.engine.dialect.name == "postgresql" else sqlite.insert
        created = await session.execute(
            insert(AutomationRun)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["rule_id", "event_id"])
            .returning(AutomationRun.id, AutomationRun.organization_id, AutomationRun.state)
        )
        return [(run_id, organization_id) for run_id, organization_id, state in created if state == AutomationRunState.QUEUED]


@dataclass
class Outcome:
    """How one execution ended: the run's state, and a delay before the next attempt."""

    state: AutomationRunState
    retry_in: timedelta | None = None


async def execute(runtime: Runtime, run_id: int, organization_id: int | None = None) -> Outcome | None:
    """Run an automation run's remaining actions; None when it was not this worker's to run.

    The condition and every template of the actions share one budget of
    ``MCGRAPH_EXPRESSION_MAX_STEPS``; a run past it is DEAD, its error starting with
    EXPRESSION_TOO_COSTLY. The condition is checked off the event loop.
    """
    with expressions.metered(expressions.Budget(runtime.settings.expression_max_steps)):
        return await _execute(runtime, run_id, organization_id)


async def _execute(runtime: Runtime, run_id: int, organization_id: int | None) -> Outcome | None:
    """:func:`execute`, inside its budget.

    The first transaction claims the run, checks its condition and runs its first action
    not yet done, finishing the run too when that was the last: a rule of one action
    is one transaction. Each further action has a transaction of its own (the last one
    finishing the run), so that one that fails leaves those before it done. When the
    first transaction fails, its claim is undone with it, and :func:`_fail` claims the
    run again to count the attempt (unless another worker has claimed it meanwhile).
    An action with an outside part (a webhook) is never in the first transaction: the
    claim commits, the part is done with no transaction open, then its own records it.
    """
    if organization_id is None:
        async with runtime.database.session() as session:
            organization_id = await session.scalar(select(AutomationRun.organization_id).where(AutomationRun.id == run_id))
        if organization_id is None:
            return None
    index: int | None = None
    action: dict[str, Any] | None = None
    keyring = secrets.Keyring.of(runtime.settings)
    known: list[str] = []  # the rule's secrets, kept out of errors and logs
    try:
        async with runtime.system_unit(organization_id) as unit:
            run = await _claim(unit.session, run_id, runtime.clock.now())
            if run is None:
                return None
            rule, event = (
                await unit.session.execute(
                    select(AutomationRule, Event).join_from(AutomationRule, Event, Event.id == run.event_id).where(AutomationRule.id == run.rule_id)
                )
            ).one()
            known = known_secrets(rule.actions, runtime.plugins, keyring)
            names = await names_for(unit.session, event, rule)
            try:
                if rule.condition and not await asyncio.to_thread(holds, (), rule.condition, names, runtime.plugins):
                    return _end(runtime, run, AutomationRunState.SKIPPED, None)
            except expressions.TooCostly as error:
                return _end(runtime, run, AutomationRunState.DEAD, f"{_message(error)} (in the condition)")
            except Exception as error:  # noqa: BLE001
                return _end(runtime, run, AutomationRunState.DEAD, f"The condition could not be checked: {error}")
            done = {r["index"] for r in run.results if r.get("status") == "done"}
            pending = [i for i in range(len(rule.actions)) if i not in done]
            if not pending:
                return _end(runtime, run, AutomationRunState.SUCCEEDED, None)
            cause = {"run": run.id, "rule": rule.id, "depth": run.depth}
            index, action = pending[0], rule.actions[pending[0]]
            action = opened(action, runtime.plugins, keyring)
            if outside_part(action, runtime.plugins) is None:
                pending.pop(0)
                unit.cause = cause
                output = _scrubbed(await perform(unit, action, names, f"{run.id}.{index}"), known)
                _record(run, {"index": index, "type": action["type"], "status": "done", "output": output})
                if not pending:
                    return _end(runtime, run, AutomationRunState.SUCCEEDED, None)
    except (UserError, RequestError) as error:
        return await _fail(runtime, run_id, index, action, _message(error), retryable=False, claim=True, known=known)
    except secrets.SecretUnreadable as error:
        return await _fail(runtime, run_id, index, action, str(error), retryable=False, claim=True)
    except ActionFailed as error:
        return await _fail(
            runtime, run_id, index, action, error.message, retryable=error.retryable, records=error.records, claim=True, known=known
        )
    except Exception as error:  # noqa: BLE001 - logged with its trace; the run retries
        _log_failure(error, known, run_id=run_id, action=index)
        return await _fail(runtime, run_id, index, action, f"{type(error).__name__}: {error}", retryable=True, claim=True, known=known)
    for index in pending:
        action = rule.actions[index]
        key = f"{run_id}.{index}"
        try:
            action = opened(action, runtime.plugins, keyring)
            outside = outside_part(action, runtime.plugins)
            complete = await outside(action.get("params") or {}, names, key, runtime.settings, runtime.clock.now()) if outside else None
            async with runtime.system_unit(organization_id, cause=cause) as unit:
                # The run's row, locked: a second worker running the same run (one thought
                # stuck, say) waits here, then finds the action done.
                run = await unit.session.get(AutomationRun, run_id, with_for_update=True, populate_existing=True)
                if run is None:
                    return None
                if not any(r["index"] == index and r.get("status") == "done" for r in run.results):
                    output = _scrubbed(await (complete(unit) if complete else perform(unit, action, names, key)), known)
                    _record(run, {"index": index, "type": action["type"], "status": "done", "output": output})
                if index == pending[-1]:
                    return _end(runtime, run, AutomationRunState.SUCCEEDED, None)
        except (UserError, RequestError) as error:
            return await _fail(runtime, run_id, index, action, _message(error), retryable=False, known=known)
        except secrets.SecretUnreadable as error:
            return await _fail(runtime, run_id, index, action, str(error), retryable=False)
        except ActionFailed as error:
            return await _fail(runtime, run_id, index, action, error.message, retryable=error.retryable, records=error.records, known=known)
        except Exception as error:  # noqa: BLE001 - logged with its trace; the run retries
            _log_failure(error, known, run_id=run_id, action=index)
            return await _fail(runtime, run_id, index, action, f"{type(error).__name__}: {error}", retryable=True, known=known)
    raise AssertionError("unreachable: the last pending action ends the run")


async def _claim(session: Any, run_id: int, now: datetime) -> AutomationRun | None:
    """QUEUED or FAILED -> RUNNING, one worker wins; the run, or None when it was not claimable."""
    return await session.scalar(
        update(AutomationRun)
        .where(AutomationRun.id == run_id, AutomationRun.state.in_(CLAIMABLE))
        .values(state=AutomationRunState.RUNNING, attempts=AutomationRun.attempts + 1, started_at=now, next_attempt_at=None, error=None)
        .returning(AutomationRun),
        execution_options={"synchronize_session": False},
    )


def _end(runtime: Runtime, run: AutomationRun, state: AutomationRunState, error: str | None) -> Outcome:
    run.state, run.error, run.finished_at = state, error, runtime.clock.now()
    return Outcome(state)


def _message(error: Exception) -> str:
    if isinstance(error, UserError):
        return "; ".join(p.message for p in error.problems)
    if isinstance(error, expressions.TooCostly):
        return f"{error.code}: {error.message}"
    return getattr(error, "message", str(error))


def _record(run: AutomationRun, result: dict[str, Any]) -> None:
    results = [r for r in run.results if r.get("index") != result["index"]]
    run.results = sorted([*results, result], key=lambda r: r["index"])


async def _fail(
    runtime: Runtime,
    run_id: int,
    index: int | None,
    action: dict[str, Any] | None,
    message: str,
    *,
    retryable: bool,
    records: Sequence[Any] = (),
    claim: bool = False,
    known: Sequence[str] = (),
) -> Outcome | None:
    """Record a failure in a transaction of its own; with ``claim``, the failed transaction's
    claim was undone with it, so the run is claimed again here (None: another worker has it).
    The rule's secrets (``known``) are scrubbed out of the message."""
    message = secrets.scrub(message, known)
    async with runtime.database.transaction() as session:
        if claim:
            run = await _claim(session, run_id, runtime.clock.now())
            if run is None:
                return None
        else:
            run = await session.get(AutomationRun, run_id, with_for_update=True)
            if run is None:
                return None
        versions.changed(session, run.organization_id)
        session.add_all(records)
        if index is None or action is None:
            run.error = message
        else:
            _record(run, {"index": index, "type": action["type"], "status": "failed", "error": message})
            run.error = f"Action {index + 1} ({action['type']}): {message}"
        if retryable and run.attempts < run.max_attempts:
            delay = min(timedelta(seconds=runtime.settings.automation_retry_seconds * 2 ** (run.attempts - 1)), MAX_DELAY)
            run.state = AutomationRunState.FAILED
            run.next_attempt_at = runtime.clock.now() + delay
            return Outcome(AutomationRunState.FAILED, delay)
        run.state = AutomationRunState.DEAD
        run.finished_at = runtime.clock.now()
        return Outcome(AutomationRunState.DEAD)


def _scrubbed(value: Any, known: Sequence[str]) -> Any:
    """An action's output (shown on the run) with the rule's secrets replaced."""
    if isinstance(value, str):
        return secrets.scrub(value, known)
    if isinstance(value, dict):
        return {key: _scrubbed(item, known) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrubbed(item, known) for item in value]
    return value


def _log_failure(error: BaseException, known: Sequence[str], **context: Any) -> None:
    """Log an action's unexpected failure with its trace, the rule's secrets scrubbed out."""
    trace = "".join(traceback.format_exception(error))
    scrubbed = secrets.scrub(trace, known)
    if scrubbed == trace:
        log.exception("automation action failed", **context)
    else:
        log.error("automation action failed", exception=scrubbed, **context)


async def due_for_sending(runtime: Runtime, *, queue_empty: bool = True) -> list[tuple[int, int]]:
    """Runs to send (again): FAILED ones whose retry is due, RUNNING ones stuck, and QUEUED
    ones waiting long, when the queue is empty (``queue_empty``) so they cannot be waiting in it.

    A message may have been lost (a process died between creating a run and sending it,
    or a worker died while running it); sending again is harmless, since one claim wins.
    A QUEUED run sent again counts as queued anew, so it is not sent at every sweep.
    Each as (run id, organisation id).
    """
    now = runtime.clock.now()
    settings = runtime.settings
    async with runtime.database.transaction() as session:
        stuck = await session.execute(
            update(AutomationRun)
            .where(
                AutomationRun.state == AutomationRunState.RUNNING,
                AutomationRun.started_at < now - timedelta(seconds=settings.automation_stuck_seconds),
            )
            .values(state=AutomationRunState.FAILED, next_attempt_at=now, error="The worker running it stopped; tried again.")
        )
        # the changes below name their organisations (stuck runs: of any organisation)
        versions.changed(session, versions.EVERY if stuck.rowcount else ())
        if stuck.rowcount:
            log.warning("automation runs stuck running; retrying them", runs=stuck.rowcount)
        due = [
            (run_id, organization_id)
            for run_id, organization_id in await session.execute(
                select(AutomationRun.id, AutomationRun.organization_id)
                .where(AutomationRun.state == AutomationRunState.FAILED, AutomationRun.next_attempt_at <= now)
                .limit(SWEEP_BATCH)
            )
        ]
        if queue_empty:
            waiting = select(AutomationRun.id).where(
                AutomationRun.state == AutomationRunState.QUEUED,
                AutomationRun.queued_at < now - timedelta(seconds=settings.automation_sweep_seconds or 15),
            ).limit(SWEEP_BATCH)
            lost = await session.execute(
                update(AutomationRun)
                .where(AutomationRun.id.in_(waiting))
                .values(queued_at=now)
                .returning(AutomationRun.id, AutomationRun.organization_id)
            )
            requeued = list(lost)
            versions.changed(session, {organization_id for _, organization_id in requeued})
            due.extend(requeued)
    return due
