-- Ingest speed: the foreign key from labels to images cost one referential-integrity lookup per label row
-- (about half the time of a batch upsert at 4-5 labels per image). The only writer of labels (write.ts) inserts
-- them in the transaction that wrote their images row, and the only deleter of images rows (reindex.ts) deletes
-- their labels in the same statement, so the key checked nothing those two do not already guarantee.
ALTER TABLE labelq.labels DROP CONSTRAINT labels_tenant_image_id_fkey;
