-- Human review decisions (POST /v1/reviews/:id) reach the index live. decision stays the image's decision now
-- (the reviewer's, else the policy's); these keep the policy's decision and who decided when. revised_at is when
-- the document last changed after classification (a review, a re-decision under a newer policy): it orders two
-- versions of one outcome, which share finished_at. Rows indexed before this migration get the columns filled
-- by labelq reindex.
ALTER TABLE labelq.images
  ADD COLUMN model_decision text,
  ADD COLUMN reviewed_by    text,
  ADD COLUMN reviewed_at    timestamptz,
  ADD COLUMN revised_at     timestamptz;
