-- The hub's whole state. Every change and the durable event that announces it
-- are written in one transaction (see src/log.rs).

CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

-- The durable event log. `seq` is gap-free; `topic` is the event's base topic,
-- `order_id` routes it to `order:{id}` as well, `audience` lists the display
-- devices that may read a workorder event.
CREATE TABLE events (
    seq        INTEGER PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    data       TEXT NOT NULL,
    topic      TEXT NOT NULL,
    order_id   TEXT,
    audience   TEXT,
    created_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX events_created ON events (created_ms);

CREATE TABLE devices (
    id           TEXT PRIMARY KEY NOT NULL,
    role         TEXT NOT NULL,
    name         TEXT NOT NULL,
    paired_at    TEXT NOT NULL,
    last_seen_at TEXT,
    revoked_at   TEXT
) STRICT;

CREATE TABLE pairing_codes (
    code       TEXT PRIMARY KEY NOT NULL,
    role       TEXT NOT NULL,
    name       TEXT NOT NULL,
    expires_ms INTEGER NOT NULL,
    used_ms    INTEGER
) STRICT;

CREATE TABLE menu_items (
    id          TEXT PRIMARY KEY NOT NULL,
    name        TEXT NOT NULL,
    category    TEXT NOT NULL,
    price       INTEGER NOT NULL,
    is_sold_out INTEGER NOT NULL DEFAULT 0,
    stock       INTEGER,
    position    INTEGER NOT NULL
) STRICT;

CREATE TABLE cells (
    id       TEXT PRIMARY KEY NOT NULL,
    name     TEXT NOT NULL,
    balance  INTEGER NOT NULL,
    position INTEGER NOT NULL
) STRICT;

CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE orders (
    id              TEXT PRIMARY KEY NOT NULL,
    daily_num       INTEGER NOT NULL,
    local_date      TEXT NOT NULL,
    pay_type        TEXT NOT NULL,
    cell_id         TEXT,
    cell_name       TEXT,
    items           TEXT NOT NULL,
    total_amount    INTEGER NOT NULL,
    status          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    ready_at        TEXT,
    cancel_reason   TEXT,
    device_id       TEXT,
    idempotency_key TEXT NOT NULL,
    created_ms      INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX orders_idempotency ON orders (device_id, idempotency_key);
CREATE UNIQUE INDEX orders_daily ON orders (local_date, daily_num);
CREATE INDEX orders_status ON orders (status);

CREATE TABLE workorders (
    id           TEXT PRIMARY KEY NOT NULL,
    body         TEXT NOT NULL,
    presented_to TEXT,
    created_ms   INTEGER NOT NULL
) STRICT;
