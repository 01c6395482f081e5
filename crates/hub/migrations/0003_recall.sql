-- Recall (protocol v2): a completed order may go back to READY within 30
-- minutes of its completion, so the completion time is kept. Orders completed
-- before this change were last updated when they completed.
ALTER TABLE orders ADD COLUMN completed_at TEXT;
UPDATE orders SET completed_at = updated_at WHERE status = 'COMPLETED';
