-- Item options, stations, names per language; fulfilment, placed time and a
-- provisional reference on orders (issue 15). Columns are only added: every
-- existing order, balance and event is kept. Old order lines keep their
-- free-text `options` in `items`; the protocol's lenient reader shows them as
-- one option of the group "".

-- A menu item's option groups as the protocol writes them (JSON), the station
-- that makes it, and its names by language code (JSON).
ALTER TABLE menu_items ADD COLUMN option_groups TEXT NOT NULL DEFAULT '[]';
ALTER TABLE menu_items ADD COLUMN station TEXT NOT NULL DEFAULT 'bar';
ALTER TABLE menu_items ADD COLUMN names TEXT NOT NULL DEFAULT '{}';

-- Dine in or take out; when the customer placed the order by the device's
-- clock (NULL on orders placed before this change: their createdAt stands);
-- the reference a device showed while the order was queued offline.
ALTER TABLE orders ADD COLUMN fulfilment TEXT NOT NULL DEFAULT 'DINE_IN';
ALTER TABLE orders ADD COLUMN placed_at TEXT;
ALTER TABLE orders ADD COLUMN reference TEXT;
