-- Near duplicates without heap visits: each chunk index also carries the whole hash and the id, so the
-- candidates of every probe are checked for their exact distance on the index entries alone (an index-only
-- scan) and only the nearest few rows are read from the table. At a million rows and maxDistance 15 the
-- earlier indexes sent some 40 thousand candidates to the heap, one random page each (p99 above 200 ms).
-- Rebuilding takes a write lock on images while it runs (seconds per million rows), like any migration here.
DROP INDEX labelq.images_phash_0, labelq.images_phash_1, labelq.images_phash_2, labelq.images_phash_3;
CREATE INDEX images_phash_0 ON labelq.images (tenant, phash_0) INCLUDE (phash, id) WHERE phash IS NOT NULL;
CREATE INDEX images_phash_1 ON labelq.images (tenant, phash_1) INCLUDE (phash, id) WHERE phash IS NOT NULL;
CREATE INDEX images_phash_2 ON labelq.images (tenant, phash_2) INCLUDE (phash, id) WHERE phash IS NOT NULL;
CREATE INDEX images_phash_3 ON labelq.images (tenant, phash_3) INCLUDE (phash, id) WHERE phash IS NOT NULL;
