-- Attempts that budgets count across every node on the database: wrong
-- pairing codes (per address and hub-wide) and wrong cell PINs (per cell).
-- A right attempt deletes its row; rows older than the longest window are
-- deleted as attempts are counted.
CREATE TABLE attempts (
    id    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind  TEXT NOT NULL,
    key   TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
CREATE INDEX attempts_kind_at ON attempts (kind, at_ms);
