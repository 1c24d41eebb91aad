-- Full-text search over a summary and its insights, each row in its own language.

-- The text search configuration for a language tag: PostgreSQL's stemmer for the
-- languages Parley serves, 'simple' (lower-cased, no stemming) for the rest.
CREATE FUNCTION parley_ts_config(language text) RETURNS regconfig
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE lower(split_part(language, '-', 1))
        WHEN 'es' THEN 'spanish' WHEN 'en' THEN 'english' WHEN 'pt' THEN 'portuguese'
        WHEN 'fr' THEN 'french' WHEN 'de' THEN 'german' WHEN 'it' THEN 'italian'
        ELSE 'simple' END)::regconfig
$$;

-- The summary weighs more (A) than its insights' titles and descriptions (B).
ALTER TABLE summaries ADD COLUMN search tsvector;

UPDATE summaries s SET search =
    setweight(to_tsvector(parley_ts_config(s.language), s.summary), 'A')
    || setweight(to_tsvector(parley_ts_config(s.language), coalesce(
        (SELECT string_agg(i.title || ' ' || i.description, ' ' ORDER BY i.position)
         FROM insights i WHERE i.summary_pk = s.id), '')), 'B');

CREATE INDEX summaries_search_idx ON summaries USING gin (search);
-- Filters that had no index.
CREATE INDEX insights_type_idx ON insights (type, summary_pk);
CREATE INDEX insights_outcome_idx ON insights (outcome, summary_pk) WHERE type = 'Resolution';
