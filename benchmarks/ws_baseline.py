"""The fan-out baseline: a bare Starlette WebSocket endpoint and a loop that sends one
payload to every connection, under uvicorn in one process, as mcgraph is."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

connected: set[WebSocket] = set()


async def subscriber(websocket: WebSocket) -> None:
    await websocket.accept()
    connected.add(websocket)
    try:
        while True:
            await websocket.receive_text()
    except WebSocketDisconnect:
        pass
    finally:
        connected.discard(websocket)


async def send(request: Request) -> PlainTextResponse:
    payload = (await request.body()).decode()
    for websocket in list(connected):
        await websocket.send_text(payload)
    return PlainTextResponse(str(len(connected)))


async def ready(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(routes=[WebSocketRoute("/ws", subscriber), Route("/send", send, methods=["POST"]), Route("/ready", ready)])
