// The migration SQL, embedded so bundled services (services/*/dist) carry it: a bundle cannot read files
// relative to its source. The .sql files in ../migrations stay the readable copies an operator can run with
// psql; migrations.test.ts fails when the two differ, so edit the .sql file and paste it here.

/** Each migration file name and its SQL, in version order. */
export const EMBEDDED_MIGRATIONS: readonly { file: string; sql: string }[] = [
  {
    file: '0001_results_index.sql',
    sql: `-- The results index: one row per image (its latest result or failure document), its labels, OCR text and
-- image properties. Everything is keyed by tenant first: every query names one tenant.

CREATE TABLE labelq.images (
  tenant          text        NOT NULL,
  id              text        NOT NULL,
  status          text        NOT NULL CHECK (status IN ('completed', 'failed')),
  bucket          text        NOT NULL,
  key             text        NOT NULL,
  etag            text,
  format          text,
  bytes           bigint,
  width           integer,
  height          integer,
  content_type    text,
  purpose         text,
  origin          text,
  batch_id        text,
  -- When the API accepted the job and when the document was written (the search order and before/after).
  submitted_at    timestamptz,
  finished_at     timestamptz NOT NULL,
  indexed_at      timestamptz NOT NULL DEFAULT now(),
  decision        text,
  policy_version  text,
  -- [{name, version, sha256}] of the models that produced the labels.
  models          jsonb       NOT NULL DEFAULT '[]',
  error_code      text,
  schema_version  integer     NOT NULL,
  -- OCR text (filled once a text model writes it). 'simple': no language stemming or stop words, since OCR
  -- text can be any language, names, codes and numbers.
  ocr_text        text,
  ocr_tsv         tsvector    GENERATED ALWAYS AS (to_tsvector('simple', coalesce(ocr_text, ''))) STORED,
  -- 64-bit pHash as a signed bigint, and its four 16-bit chunks for the near-duplicate prefilter.
  phash           bigint,
  phash_0         integer     GENERATED ALWAYS AS (((phash >> 48) & 65535)::integer) STORED,
  phash_1         integer     GENERATED ALWAYS AS (((phash >> 32) & 65535)::integer) STORED,
  phash_2         integer     GENERATED ALWAYS AS (((phash >> 16) & 65535)::integer) STORED,
  phash_3         integer     GENERATED ALWAYS AS ((phash & 65535)::integer) STORED,
  brightness      real,
  sharpness       real,
  colours         jsonb,
  PRIMARY KEY (tenant, id)
);

-- Listing newest first, before/after, and the keyset cursor (finished_at, id).
CREATE INDEX images_recent ON labelq.images (tenant, finished_at DESC, id DESC);
CREATE INDEX images_decision ON labelq.images (tenant, decision, finished_at DESC, id DESC)
  WHERE decision IS NOT NULL;
CREATE INDEX images_batch ON labelq.images (tenant, batch_id, finished_at DESC, id DESC)
  WHERE batch_id IS NOT NULL;
CREATE INDEX images_text ON labelq.images USING gin (ocr_tsv) WHERE ocr_text IS NOT NULL;
-- Pigeonhole prefilter: two hashes within distance d agree within floor(d / 4) bits on at least one chunk.
CREATE INDEX images_phash_0 ON labelq.images (tenant, phash_0) WHERE phash IS NOT NULL;
CREATE INDEX images_phash_1 ON labelq.images (tenant, phash_1) WHERE phash IS NOT NULL;
CREATE INDEX images_phash_2 ON labelq.images (tenant, phash_2) WHERE phash IS NOT NULL;
CREATE INDEX images_phash_3 ON labelq.images (tenant, phash_3) WHERE phash IS NOT NULL;

CREATE TABLE labelq.labels (
  tenant       text     NOT NULL,
  image_id     text     NOT NULL,
  model        text     NOT NULL,
  -- classify | detect | faces | text | moderation: what kind of output the label came from.
  task         text     NOT NULL,
  label        text     NOT NULL,
  confidence   real     NOT NULL,
  -- Detected instances of the label (0 for whole-image classifiers).
  instances    integer  NOT NULL DEFAULT 0,
  -- The image's finished_at, copied so the label search walks one index in result order.
  finished_at  timestamptz NOT NULL,
  -- The image's batch, copied for facet counts within a batch.
  batch_id     text,
  PRIMARY KEY (tenant, image_id, model, label),
  FOREIGN KEY (tenant, image_id) REFERENCES labelq.images (tenant, id) ON DELETE CASCADE
);
CREATE INDEX labels_search ON labelq.labels (tenant, label, finished_at DESC, image_id DESC)
  INCLUDE (confidence, model);
CREATE INDEX labels_batch ON labelq.labels (tenant, batch_id, label) WHERE batch_id IS NOT NULL;

-- Installation secrets the API replicas share (the search cursor's HMAC key), made on first use.
CREATE TABLE labelq.secrets (
  name   text  PRIMARY KEY,
  value  bytea NOT NULL
);
`,
  },
  {
    file: '0002_labels_without_foreign_key.sql',
    sql: `-- Ingest speed: the foreign key from labels to images cost one referential-integrity lookup per label row
-- (about half the time of a batch upsert at 4-5 labels per image). The only writer of labels (write.ts) inserts
-- them in the transaction that wrote their images row, and the only deleter of images rows (reindex.ts) deletes
-- their labels in the same statement, so the key checked nothing those two do not already guarantee.
ALTER TABLE labelq.labels DROP CONSTRAINT labels_tenant_image_id_fkey;
`,
  },
  {
    file: '0003_reviews.sql',
    sql: `-- Human review decisions (POST /v1/reviews/:id) reach the index live. decision stays the image's decision now
-- (the reviewer's, else the policy's); these keep the policy's decision and who decided when. revised_at is when
-- the document last changed after classification (a review, a re-decision under a newer policy): it orders two
-- versions of one outcome, which share finished_at. Rows indexed before this migration get the columns filled
-- by labelq reindex.
ALTER TABLE labelq.images
  ADD COLUMN model_decision text,
  ADD COLUMN reviewed_by    text,
  ADD COLUMN reviewed_at    timestamptz,
  ADD COLUMN revised_at     timestamptz;
`,
  },
  {
    file: '0004_phash_index_only.sql',
    sql: `-- Near duplicates without heap visits: each chunk index also carries the whole hash and the id, so the
-- candidates of every probe are checked for their exact distance on the index entries alone (an index-only
-- scan) and only the nearest few rows are read from the table. At a million rows and maxDistance 15 the
-- earlier indexes sent some 40 thousand candidates to the heap, one random page each (p99 above 200 ms).
-- Rebuilding takes a write lock on images while it runs (seconds per million rows), like any migration here.
DROP INDEX labelq.images_phash_0, labelq.images_phash_1, labelq.images_phash_2, labelq.images_phash_3;
CREATE INDEX images_phash_0 ON labelq.images (tenant, phash_0) INCLUDE (phash, id) WHERE phash IS NOT NULL;
CREATE INDEX images_phash_1 ON labelq.images (tenant, phash_1) INCLUDE (phash, id) WHERE phash IS NOT NULL;
CREATE INDEX images_phash_2 ON labelq.images (tenant, phash_2) INCLUDE (phash, id) WHERE phash IS NOT NULL;
CREATE INDEX images_phash_3 ON labelq.images (tenant, phash_3) INCLUDE (phash, id) WHERE phash IS NOT NULL;
`,
  },
];
