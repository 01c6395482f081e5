-- Hardening (issue 12).

-- A signature's strokes as points, as the hub read them from the device's
-- SVG; the workorder's signatureSvg is the hub's own rendition of them.
ALTER TABLE workorders ADD COLUMN strokes TEXT;

-- Pairing codes are kept as a keyed hash (HMAC-SHA256 with the hub's
-- secret), never in clear: codes made before this change are dropped (they
-- live ten minutes).
DELETE FROM pairing_codes;

-- Tokens replaced by POST /api/devices/refresh, until they would expire.
CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY NOT NULL,
    expires_ms INTEGER NOT NULL
) STRICT;
