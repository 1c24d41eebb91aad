-- A batch is stored by this function (services/ingest/storage/writes.py calls it), so that
-- PostgreSQL plans its statement once per connection and keeps the plan.
--
-- The service's connections run with plan_cache_mode = force_custom_plan, for the reads: a
-- list planned generically, blind to its filter values, once walked a whole index. For this
-- statement a custom plan only cost time: PostgreSQL planned it again on every call, with each
-- batch's arrays as constants, and that doubled what a small batch cost it (a single entity
-- about 1.5 ms of CPU; through this function, in which plan_cache_mode is auto, 0.9 ms; 100
-- entities 250 us an entity against 115 to 150).
--
-- Each summary also keeps its insights as the JSON array an export writes (insights_json):
-- summaries and insights are never updated (migration 009), so the copy cannot drift, and
-- an NDJSON export reads it instead of looking the insights up row by row, which was two
-- thirds of the export's cost in PostgreSQL. Rows stored before this migration have none;
-- the export looks theirs up as before. The cost: the insights' text twice, about 200 bytes
-- a summary.
ALTER TABLE summaries ADD COLUMN insights_json text;

-- The arguments are the batch's columns, summary by summary in the order given (a parent
-- before its children), then its insights', each insight naming its summary by summary_id.
-- A summary whose summary_id is stored already is skipped (the caller tells a replay from a
-- conflict); the ones stored are returned with their new ids.
CREATE FUNCTION parley_store(
    summary_ids text[], summary_types text[], media_types text[], languages text[], agent_ids text[],
    source_ids text[], texts text[], generated_flags bool[], dates_created timestamptz[], parent_ids text[],
    genesys_ids text[], content_hashes bytea[], insight_texts text[], insight_arrays text[],
    insight_summary_ids text[], insight_positions int[], insight_types text[], insight_titles text[],
    insight_descriptions text[], insight_outcomes text[])
RETURNS TABLE (id bigint, summary_id text)
LANGUAGE plpgsql SET plan_cache_mode = auto AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH input AS (
        SELECT * FROM unnest(summary_ids, summary_types, media_types, languages, agent_ids, source_ids, texts,
                             generated_flags, dates_created, parent_ids, genesys_ids, content_hashes, insight_texts,
                             insight_arrays)
            WITH ORDINALITY AS t(summary_id, summary_type, media_type, language, agent_id, source_id, summary,
                                 generated, date_created, conversation_id, genesys_conversation_id, content_hash,
                                 insight_text, insights_json, ord)
    ), inserted AS (
        INSERT INTO summaries (summary_id, summary_type, media_type, language, agent_id, source_id,
                               summary, generated, date_created, conversation_id, genesys_conversation_id,
                               content_hash, insights_json, search)
        SELECT summary_id, summary_type, media_type, language, agent_id, source_id,
               summary, generated, date_created, conversation_id, genesys_conversation_id, content_hash, insights_json,
               setweight(to_tsvector(parley_ts_config(language), summary), 'A')
               || setweight(to_tsvector(parley_ts_config(language), insight_text), 'B')
        FROM input ORDER BY ord
        ON CONFLICT (summary_id) DO NOTHING
        RETURNING id, summary_id
    ), inserted_insights AS (
        INSERT INTO insights (summary_pk, position, type, title, description, outcome)
        SELECT inserted.id, i.position, i.type, i.title, i.description, i.outcome
        FROM unnest(insight_summary_ids, insight_positions, insight_types, insight_titles, insight_descriptions,
                    insight_outcomes) AS i(summary_id, position, type, title, description, outcome)
        JOIN inserted USING (summary_id)
    )
    SELECT id, summary_id FROM inserted;
END
$$;
