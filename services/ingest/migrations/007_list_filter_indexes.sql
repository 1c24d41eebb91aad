-- Every equality filter of the list reads its own index in list order (newest first), so
-- a page is one short index range scan, however rare the value: even one that matches
-- nothing costs a lookup, not a walk of the whole date index.
CREATE INDEX summaries_language_date_idx ON summaries (language, date_created DESC, id DESC);
CREATE INDEX summaries_media_type_date_idx ON summaries (media_type, date_created DESC, id DESC);
CREATE INDEX summaries_summary_type_date_idx ON summaries (summary_type, date_created DESC, id DESC);
-- These replace the single-column indexes: the same lookups, in list order.
CREATE INDEX summaries_agent_id_date_idx ON summaries (agent_id, date_created DESC, id DESC)
    WHERE agent_id IS NOT NULL;
DROP INDEX summaries_agent_id_idx;
CREATE INDEX summaries_source_id_date_idx ON summaries (source_id, date_created DESC, id DESC);
DROP INDEX summaries_source_id_idx;
