-- Typed-code pairing by PAKE (issue 17). (There is no 0007.)
--
-- `attempts`: the PAKE starts that were offered this code. Each start lets
-- its caller test one guess against it offline, so a code that has been
-- offered 5 times is offered no more and `pair` refuses it too. Kept with
-- the code, not in memory, so that the count holds across restarts.
--
-- `sealed`: the code itself, which SPAKE2 needs as its password, XORed with
-- a mask derived from the signing secret and the code's hash (see
-- auth/pake.rs): a copy of the database alone gives it away no more than
-- the keyed hash does. Codes made before this migration have none and are
-- not offered by PAKE (plain `pair` still takes them).
ALTER TABLE pairing_codes ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE pairing_codes ADD COLUMN sealed TEXT;
