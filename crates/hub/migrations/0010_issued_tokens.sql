-- The tokens the hub itself signed (issue 17): one row per token, by its
-- `jti`, until it would expire. After a rotation of the signing secret, a
-- token signed with the previous secret may still be refreshed, but only if
-- the hub issued it to that device: a leaked old secret cannot mint tokens
-- that refresh. Tokens from before this migration are not here; they keep
-- working under the secret they were signed with.
CREATE TABLE issued_tokens (
    jti        TEXT PRIMARY KEY NOT NULL,
    device_id  TEXT NOT NULL,
    expires_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX issued_tokens_device ON issued_tokens (device_id);
CREATE INDEX issued_tokens_expiry ON issued_tokens (expires_ms);
