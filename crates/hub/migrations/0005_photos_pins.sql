-- Menu photos and cell PINs (issue 15).
--
-- A menu item's photo, re-encoded by the hub (JPEG, metadata stripped): the
-- full picture (at most 1024 px a side) and its thumbnail (at most 320 px).
-- `version` is a short hash of `full`, so the addresses that carry it can be
-- cached for good. Deleting the item deletes its photo (the pool turns
-- foreign keys on).
CREATE TABLE menu_photos (
    menu_id    TEXT PRIMARY KEY NOT NULL REFERENCES menu_items(id) ON DELETE CASCADE,
    version    TEXT NOT NULL,
    full       BLOB NOT NULL,
    thumb      BLOB NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

-- A cell's PIN as an argon2id hash (PHC string); NULL while it has none.
ALTER TABLE cells ADD COLUMN pin_hash TEXT;
