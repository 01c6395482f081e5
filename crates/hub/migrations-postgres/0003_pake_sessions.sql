-- Typed-code pairings (SPAKE2) under way, so that a finish may reach any
-- node. The agreed keys are stored sealed under the signing secret (XOR a
-- keyed hash of the session and the code's hash), so a copy of the
-- database alone gives no session key. A finish deletes its row: once.
CREATE TABLE pake_sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    started_ms BIGINT NOT NULL,
    msg_a      BYTEA NOT NULL,
    offers     TEXT NOT NULL,
    attempt    BIGINT
);
CREATE INDEX pake_sessions_started ON pake_sessions (started_ms);
