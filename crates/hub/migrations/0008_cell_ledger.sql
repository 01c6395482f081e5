-- A cell's history (issue 16): every change of its balance, written in the
-- same transaction as the change. Nothing prunes it.
--
-- `kind` is the change's type on the wire (CHARGE, ORDER, REFUND,
-- CORRECTION); `amount` is signed; `reason` is a correction's reason or a
-- cancelled order's; `device_id` is the device that made the change, when
-- known (a refund's is not: the hub has not kept who cancelled).
CREATE TABLE cell_ledger (
    id            INTEGER PRIMARY KEY NOT NULL,
    cell_id       TEXT NOT NULL,
    kind          TEXT NOT NULL,
    amount        INTEGER NOT NULL,
    balance_after INTEGER NOT NULL,
    reason        TEXT,
    order_id      TEXT,
    device_id     TEXT,
    at            TEXT NOT NULL
) STRICT;
CREATE INDEX cell_ledger_cell ON cell_ledger (cell_id, id);

-- What is known of the past: the charges (kept since migration 0006, with
-- what the log held then), the orders paid with points and the refunds of
-- those cancelled (orders are never pruned). Inserted oldest first.
INSERT INTO cell_ledger (cell_id, kind, amount, balance_after, reason, order_id, device_id, at)
SELECT cell_id, kind, amount, 0, reason, order_id, device_id, at FROM (
    SELECT cell_id, 'CHARGE' AS kind, amount, NULL AS reason, NULL AS order_id,
           NULL AS device_id, at, 0 AS rank
    FROM cell_charges
    UNION ALL
    SELECT cell_id, 'ORDER', -total_amount, NULL, id, device_id, created_at, 1
    FROM orders WHERE pay_type = 'CELL' AND cell_id IS NOT NULL
    UNION ALL
    SELECT cell_id, 'REFUND', total_amount, cancel_reason, id, NULL, updated_at, 2
    FROM orders WHERE pay_type = 'CELL' AND cell_id IS NOT NULL AND status = 'CANCELLED'
)
WHERE cell_id IN (SELECT id FROM cells)
ORDER BY at, rank;

-- Balances after each change, counted back from each cell's balance now:
-- the newest are exact; before the log's first charge they may not be.
UPDATE cell_ledger SET balance_after =
    (SELECT balance FROM cells WHERE cells.id = cell_ledger.cell_id)
    - (SELECT COALESCE(SUM(later.amount), 0) FROM cell_ledger AS later
       WHERE later.cell_id = cell_ledger.cell_id AND later.id > cell_ledger.id);
