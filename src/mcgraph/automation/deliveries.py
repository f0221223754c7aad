"""The ``send_webhook`` action: a signed POST, each attempt logged under one delivery id.

The domain defines the action (its params, checks and description); sending is I/O, so
it lives here, and the built-in automation plugin (:mod:`mcgraph.automation.builtins`)
declares the action with this sender. The
POST is the action's outside part: the engine sends it with no transaction open, then
logs the attempt in the action's transaction.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select

from mcgraph.automation import webhooks
from mcgraph.automation.webhooks import WebhookRequest
from mcgraph.db.models import WebhookDelivery
from mcgraph.domain.automation_actions import CORE_ACTIONS, ActionFailed, ActionType, Completion, Names
from mcgraph.domain.unit import Unit
from mcgraph.settings import Settings


def delivery_id(run_id: int, index: int) -> str:
    """The same for every attempt of one action of one run: receivers drop duplicates by it."""
    return f"msg_{run_id}_{index}"


async def _send(params: Mapping[str, Any], names: Names, key: str, settings: Settings, now: datetime) -> Completion:
    """POST the event (no transaction is open); what then logs the attempt in the action's."""
    run_id, index = (int(part) for part in key.split("."))
    request = WebhookRequest(
        url=str(params["url"]),
        body=orjson.dumps({"type": names["event"]["type"], **{k: names.get(k) for k in ("event", "rule", "task", "project", "run")}}),
        secret=str(params.get("secret") or "").encode(),
        delivery_id=delivery_id(run_id, index),
        timestamp=int(now.timestamp()),
    )
    attempt = await webhooks.send(request, allow=settings.webhook_allow, timeout=settings.webhook_timeout_seconds)

    async def log_attempt(unit: Unit) -> dict[str, Any]:
        """Every attempt is logged (``WebhookDelivery``) under one delivery id."""
        previous = await unit.session.scalar(
            select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.run_id == run_id, WebhookDelivery.action_index == index)
        )
        delivery = WebhookDelivery(
            organization_id=unit.actor.organization_id,
            run_id=run_id,
            action_index=index,
            delivery_id=request.delivery_id,
            url=request.url,
            attempt=int(previous or 0) + 1,
            ok=attempt.ok,
            status=attempt.status,
            error=attempt.error,
            duration_ms=attempt.duration_ms,
            response_excerpt=attempt.response_excerpt,
            attempted_at=now,
        )
        if not attempt.ok:
            raise ActionFailed(f"webhook {request.delivery_id}: {attempt.error}", retryable=attempt.retryable, records=[delivery])
        unit.session.add(delivery)
        return {"deliveryId": request.delivery_id, "status": attempt.status, "attempt": delivery.attempt}

    return log_attempt


async def _send_webhook(unit: Unit, params: Mapping[str, Any], names: Names, key: str) -> dict[str, Any]:
    """Both parts in one, for a caller that has only a unit."""
    return await (await _send(params, names, key, unit.settings, unit.now))(unit)


SEND_WEBHOOK: ActionType = dataclasses.replace(CORE_ACTIONS["send_webhook"], run=_send_webhook, outside=_send)
