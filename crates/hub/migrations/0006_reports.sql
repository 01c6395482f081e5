-- The day's numbers (issue 16). A report must be answerable for at least 400
-- days, but the event log is pruned after a day: recalls and cell charges,
-- until now kept only as events, get tables of their own, written in the same
-- transaction as the change. Nothing prunes them, nor the orders.
--
-- `local_date` is the hub's local day of the change, as `orders.local_date`.

-- A status move back (`READY → MAKING`, `COMPLETED → READY`).
CREATE TABLE order_recalls (
    id          INTEGER PRIMARY KEY NOT NULL,
    order_id    TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    local_date  TEXT NOT NULL,
    at          TEXT NOT NULL
) STRICT;
CREATE INDEX order_recalls_day ON order_recalls (local_date);

-- Points added to a cell by a manager (a new cell's opening balance too).
-- Refunds of cancelled orders are not charges.
CREATE TABLE cell_charges (
    id         INTEGER PRIMARY KEY NOT NULL,
    cell_id    TEXT NOT NULL,
    amount     INTEGER NOT NULL,
    local_date TEXT NOT NULL,
    at         TEXT NOT NULL
) STRICT;
CREATE INDEX cell_charges_day ON cell_charges (local_date);

-- What the log still holds of both is kept.
INSERT INTO order_recalls (order_id, from_status, to_status, local_date, at)
SELECT json_extract(data, '$.orderId'), json_extract(data, '$.previousStatus'),
       json_extract(data, '$.status'), date(json_extract(data, '$.updatedAt'), 'localtime'),
       json_extract(data, '$.updatedAt')
FROM events
WHERE name = 'order:status_changed'
  AND json_extract(data, '$.updatedAt') IS NOT NULL
  AND ((json_extract(data, '$.previousStatus') = 'READY' AND json_extract(data, '$.status') = 'MAKING')
    OR (json_extract(data, '$.previousStatus') = 'COMPLETED' AND json_extract(data, '$.status') = 'READY'))
ORDER BY seq;

INSERT INTO cell_charges (cell_id, amount, local_date, at)
SELECT json_extract(data, '$.cellId'), json_extract(data, '$.changeAmount'),
       date(json_extract(data, '$.updatedAt'), 'localtime'), json_extract(data, '$.updatedAt')
FROM events
WHERE name = 'cell:balance_changed' AND json_extract(data, '$.type') = 'CHARGE'
  AND json_extract(data, '$.changeAmount') > 0
ORDER BY seq;
