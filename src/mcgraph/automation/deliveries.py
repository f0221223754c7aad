"""The ``send_webhook`` action: a signed POST, each attempt logged under one delivery id.

The domain declares the action (its params, checks and description); sending is I/O, so
it lives here and is installed into the action table when the automations load.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import orjson
from sqlalchemy import func, select

from mcgraph.automation import webhooks
from mcgraph.automation.webhooks import WebhookRequest
from mcgraph.db.models import WebhookDelivery
from mcgraph.domain.automation_actions import ACTIONS, ActionFailed, Names
from mcgraph.domain.unit import Unit


def delivery_id(run_id: int, index: int) -> str:
    """The same for every attempt of one action of one run: receivers drop duplicates by it."""
    return f"msg_{run_id}_{index}"


async def _send_webhook(unit: Unit, params: Mapping[str, Any], names: Names, key: str) -> dict[str, Any]:
    """POST the event; every attempt is logged (``WebhookDelivery``) under one delivery id."""
    request = WebhookRequest(
        url=str(params["url"]),
        body=orjson.dumps({"type": names["event"]["type"], **{k: names.get(k) for k in ("event", "rule", "task", "project", "run")}}),
        secret=str(params.get("secret") or "").encode(),
        delivery_id=delivery_id(*(int(part) for part in key.split("."))),
        timestamp=int(unit.now.timestamp()),
    )
    attempt = await webhooks.send(request, allow=unit.settings.webhook_allow, timeout=unit.settings.webhook_timeout_seconds)
    run_id, index = (int(part) for part in key.split("."))
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
        attempted_at=unit.now,
    )
    if not attempt.ok:
        raise ActionFailed(f"webhook {request.delivery_id}: {attempt.error}", retryable=attempt.retryable, records=[delivery])
    unit.session.add(delivery)
    return {"deliveryId": request.delivery_id, "status": attempt.status, "attempt": delivery.attempt}


ACTIONS["send_webhook"] = dataclasses.replace(ACTIONS["send_webhook"], run=_send_webhook)
