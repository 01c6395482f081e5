"""Benchmark peer: what the Python systems Countertop replaces do for an order.

POST /api/orders persists the JSON body in SQLite (sqlite3, WAL), then sends
`order:created` to every WebSocket that subscribed to `orders` (FastAPI's
documented ConnectionManager pattern). A client subscribes on /ws with
{"type":"subscribe","topics":["orders"]} and is answered with `subscribed`.
Usage: python server.py PORT DBFILE
"""

import json
import os
import sqlite3
import sys
import time
from datetime import datetime, timezone

import uvicorn
from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse

DB_PATH = sys.argv[2] if len(sys.argv) > 2 else "orders.db"
db = sqlite3.connect(DB_PATH, check_same_thread=False)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=NORMAL")
db.execute(
    "CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, body TEXT NOT NULL,"
    " status TEXT NOT NULL, created_at TEXT NOT NULL)"
)
db.commit()

app = FastAPI()


class ConnectionManager:
    def __init__(self) -> None:
        self.topics: dict[str, set[WebSocket]] = {}

    def subscribe(self, ws: WebSocket, topics: list[str]) -> None:
        for t in topics:
            self.topics.setdefault(t, set()).add(ws)

    def drop(self, ws: WebSocket) -> None:
        for subs in self.topics.values():
            subs.discard(ws)

    async def broadcast(self, topic: str, text: str) -> None:
        for ws in list(self.topics.get(topic, ())):
            try:
                await ws.send_text(text)
            except Exception:
                self.drop(ws)


manager = ConnectionManager()


@app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


@app.post("/api/orders", status_code=201)
async def create_order(request: Request) -> JSONResponse:
    body = await request.json()
    order = {
        "orderId": f"ORD-{int(time.time() * 1000)}-{os.urandom(3).hex()}",
        "items": body.get("items", []),
        "payType": body.get("payType", "CARD"),
        "totalAmount": body.get("totalAmount", 0),
        "status": "PENDING",
        "createdAt": datetime.now(timezone.utc).isoformat(),
    }
    db.execute(
        "INSERT INTO orders (id, body, status, created_at) VALUES (?, ?, ?, ?)",
        (order["orderId"], json.dumps(order), order["status"], order["createdAt"]),
    )
    db.commit()
    await manager.broadcast("orders", json.dumps({"event": "order:created", "data": order}, separators=(",", ":")))
    return JSONResponse(order, status_code=201)


@app.websocket("/ws")
async def ws_endpoint(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            msg = json.loads(await ws.receive_text())
            if msg.get("type") == "subscribe":
                topics = list(msg.get("topics", []))
                manager.subscribe(ws, topics)
                await ws.send_text(json.dumps({"event": "subscribed", "data": {"topics": topics}}, separators=(",", ":")))
    except (WebSocketDisconnect, ValueError):
        pass
    finally:
        manager.drop(ws)


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 3102
    print(f"listening on 127.0.0.1:{port}", flush=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", ws="websockets")
