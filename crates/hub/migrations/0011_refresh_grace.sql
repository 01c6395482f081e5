-- A lost refresh answer must not lock a device out (issue 17's review).
-- A token a refresh replaced keeps its row, with the time of its
-- replacement (`replaced_ms`); each token keeps the `jti` of the token it
-- replaced (`parent`). A replaced token may refresh again for a short grace
-- after its replacement, while none of the tokens it was replaced by has
-- been refreshed in turn (auth/tokens.rs). A replaced row is forgotten once
-- its grace is over; a revoked device's rows are forgotten at once.
ALTER TABLE issued_tokens ADD COLUMN replaced_ms INTEGER;
ALTER TABLE issued_tokens ADD COLUMN parent TEXT;
CREATE INDEX issued_tokens_parent ON issued_tokens (parent);
