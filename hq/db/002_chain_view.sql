-- The chain view counts each store's records per class over the last 24 hours. stored_at grows with
-- the insertion order, so a BRIN index (a summary per range of table blocks) lets that query read
-- only the last day's blocks, at almost no cost to the ingest's inserts (PostgreSQL 15 docs, §11.2
-- "Index Types", BRIN).
CREATE INDEX records_stored_at_brin ON records USING brin (stored_at);
