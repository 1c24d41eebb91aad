-- Counts kept on write, so stats and top insights over a date range add up a few rows a
-- day instead of reading every summary. The database keeps them, in the transaction that
-- writes or deletes the summaries, whatever the path (the service, a bulk load, psql):
--
--   summary_counts  summaries a day by type, media type, language, generated, the insight
--                   types they have and their Resolution outcomes;
--   actor_counts    summaries a day by type, agent and source;
--   title_counts    summaries a day by insight type and normalized title (parley_title_key),
--                   with the summary's type, media type, language, generated and whether it
--                   is resolved (a Resolution insight with an outcome).
--
-- A write appends rows (n > 0 for new summaries, n < 0 for deleted ones) and never updates
-- one, so concurrent writers never wait for each other here. The service merges each day's
-- rows into one per key now and then (parley_merge_counts); readers add up whatever is there.
--
-- A summary is counted with the insights it has at the end of the statement that inserts
-- it: insights are written with their summary, in the same statement, and never changed.

CREATE TABLE summary_counts (
    day           date    NOT NULL,
    summary_type  text    NOT NULL,
    media_type    text    NOT NULL,
    language      text    NOT NULL,
    generated     boolean NOT NULL,
    insight_types text[]  NOT NULL,  -- distinct, sorted
    outcomes      text[]  NOT NULL,  -- the Resolution outcomes, distinct, sorted
    n             bigint  NOT NULL,
    merged        boolean NOT NULL DEFAULT false
);

CREATE TABLE actor_counts (
    day          date    NOT NULL,
    summary_type text    NOT NULL,
    agent_id     text,
    source_id    text    NOT NULL,
    n            bigint  NOT NULL,
    merged       boolean NOT NULL DEFAULT false
);

CREATE TABLE title_counts (
    day          date    NOT NULL,
    type         text    NOT NULL,
    title_key    text    NOT NULL,
    title        text    NOT NULL,  -- as written (trimmed): the most frequent is shown
    summary_type text    NOT NULL,
    media_type   text    NOT NULL,
    language     text    NOT NULL,
    generated    boolean NOT NULL,
    resolved     boolean NOT NULL,
    summaries    bigint  NOT NULL,  -- each summary counts once per title_key, on one title
    mentions     bigint  NOT NULL,  -- insights with this very title
    merged       boolean NOT NULL DEFAULT false
);

CREATE INDEX summary_counts_day_idx ON summary_counts (day);
CREATE INDEX actor_counts_day_idx ON actor_counts (day);
CREATE INDEX title_counts_type_day_idx ON title_counts (type, day);
-- The days a merge has to visit.
CREATE INDEX summary_counts_unmerged_idx ON summary_counts (day) WHERE NOT merged;
CREATE INDEX actor_counts_unmerged_idx ON actor_counts (day) WHERE NOT merged;
CREATE INDEX title_counts_unmerged_idx ON title_counts (day) WHERE NOT merged;

-- The UTC day a summary is counted on (stats' day, week and month buckets are UTC too).
CREATE FUNCTION parley_day(ts timestamptz) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (ts AT TIME ZONE 'UTC')::date $$;

-- Appends the counts of the summaries `ids`, times `sign` (1 when they arrive, -1 when
-- they go), read with their insights as they are now.
CREATE FUNCTION parley_count(ids bigint[], sign integer) RETURNS void
    LANGUAGE sql VOLATILE AS $$
    WITH picked AS MATERIALIZED (
        SELECT s.id, parley_day(s.date_created) AS day, s.summary_type, s.media_type, s.language,
               s.generated, s.agent_id, s.source_id,
               ARRAY(SELECT DISTINCT i.type FROM insights i WHERE i.summary_pk = s.id ORDER BY 1) AS insight_types,
               ARRAY(SELECT DISTINCT i.outcome FROM insights i WHERE i.summary_pk = s.id
                     AND i.type = 'Resolution' AND i.outcome IS NOT NULL ORDER BY 1) AS outcomes
        FROM summaries s WHERE s.id = ANY(ids)
    ), summaries_counted AS (
        INSERT INTO summary_counts (day, summary_type, media_type, language, generated, insight_types, outcomes, n)
        SELECT day, summary_type, media_type, language, generated, insight_types, outcomes, sign * count(*)
        FROM picked GROUP BY 1, 2, 3, 4, 5, 6, 7
    ), actors_counted AS (
        INSERT INTO actor_counts (day, summary_type, agent_id, source_id, n)
        SELECT day, summary_type, agent_id, source_id, sign * count(*) FROM picked GROUP BY 1, 2, 3, 4
    ), titled AS (
        SELECT p.id, p.day, p.summary_type, p.media_type, p.language, p.generated,
               cardinality(p.outcomes) > 0 AS resolved, i.type, parley_title_key(i.title) AS title_key,
               btrim(i.title) AS title, count(*) AS mentions
        FROM picked p JOIN insights i ON i.summary_pk = p.id
        GROUP BY p.id, p.day, p.summary_type, p.media_type, p.language, p.generated, p.outcomes,
                 i.type, parley_title_key(i.title), btrim(i.title)
    ), firsts AS (
        SELECT *, row_number() OVER (PARTITION BY id, type, title_key ORDER BY title) = 1 AS first FROM titled
    )
    INSERT INTO title_counts (day, type, title_key, title, summary_type, media_type, language, generated, resolved,
                              summaries, mentions)
    SELECT day, type, title_key, title, summary_type, media_type, language, generated, resolved,
           sign * count(*) FILTER (WHERE first), sign * sum(mentions)
    FROM firsts GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
$$;

CREATE FUNCTION parley_count_added() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM parley_count(ARRAY(SELECT id FROM added), 1);
    RETURN NULL;
END
$$;

-- Row by row, as the row goes: when a deleted Conversation takes its children, and each
-- summary its insights, those cascades run after this, and the rows are still here to be
-- counted. The same counts as parley_count's, for one summary, in statements whose plans
-- are kept (a delete of thousands of rows runs them thousands of times).
CREATE FUNCTION parley_count_deleted() RETURNS trigger
    LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    day date := parley_day(OLD.date_created);
    outcomes text[];
BEGIN
    outcomes := ARRAY(SELECT DISTINCT i.outcome FROM insights i WHERE i.summary_pk = OLD.id
                      AND i.type = 'Resolution' AND i.outcome IS NOT NULL ORDER BY 1);
    INSERT INTO summary_counts (day, summary_type, media_type, language, generated, insight_types, outcomes, n)
    VALUES (day, OLD.summary_type, OLD.media_type, OLD.language, OLD.generated,
            ARRAY(SELECT DISTINCT i.type FROM insights i WHERE i.summary_pk = OLD.id ORDER BY 1), outcomes, -1);
    INSERT INTO actor_counts (day, summary_type, agent_id, source_id, n)
    VALUES (day, OLD.summary_type, OLD.agent_id, OLD.source_id, -1);
    INSERT INTO title_counts (day, type, title_key, title, summary_type, media_type, language, generated, resolved,
                              summaries, mentions)
    SELECT day, type, title_key, title, OLD.summary_type, OLD.media_type, OLD.language, OLD.generated,
           cardinality(outcomes) > 0, CASE WHEN first THEN -1 ELSE 0 END, -mentions
    FROM (SELECT i.type, parley_title_key(i.title) AS title_key, btrim(i.title) AS title, count(*) AS mentions,
                 row_number() OVER (PARTITION BY i.type, parley_title_key(i.title) ORDER BY btrim(i.title)) = 1
                     AS first
          FROM insights i WHERE i.summary_pk = OLD.id GROUP BY 1, 2, 3) AS titled;
    RETURN OLD;
END
$$;

CREATE FUNCTION parley_count_truncated() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE summary_counts, actor_counts, title_counts;
    RETURN NULL;
END
$$;

CREATE TRIGGER summaries_counted AFTER INSERT ON summaries
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION parley_count_added();
CREATE TRIGGER summaries_uncounted BEFORE DELETE ON summaries
    FOR EACH ROW EXECUTE FUNCTION parley_count_deleted();
CREATE TRIGGER summaries_counts_truncated AFTER TRUNCATE ON summaries
    FOR EACH STATEMENT EXECUTE FUNCTION parley_count_truncated();
-- Summaries and insights are written once and deleted, never changed: an update would
-- leave the counts wrong, so there is none.
CREATE FUNCTION parley_refuse_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never updated (the counts in summary_counts would go wrong)', TG_TABLE_NAME
        USING ERRCODE = 'feature_not_supported';
END
$$;
CREATE TRIGGER summaries_not_updated BEFORE UPDATE ON summaries
    FOR EACH STATEMENT EXECUTE FUNCTION parley_refuse_update();
CREATE TRIGGER insights_not_updated BEFORE UPDATE ON insights
    FOR EACH STATEMENT EXECUTE FUNCTION parley_refuse_update();

-- Folds each day that has unmerged rows into one row per key (dropping keys that add up
-- to nothing). Rows appended meanwhile by transactions this statement does not see stay
-- unmerged until the next time. Answers how many days were merged.
CREATE FUNCTION parley_merge_counts() RETURNS integer
    LANGUAGE plpgsql AS $$
DECLARE
    days date[];
BEGIN
    -- One merge at a time; another caller returns at once.
    IF NOT pg_try_advisory_xact_lock(hashtext('parley_merge_counts')) THEN
        RETURN 0;
    END IF;
    days := ARRAY(SELECT day FROM summary_counts WHERE NOT merged
                  UNION SELECT day FROM actor_counts WHERE NOT merged
                  UNION SELECT day FROM title_counts WHERE NOT merged);
    WITH gone AS (DELETE FROM summary_counts WHERE day = ANY(days) RETURNING *)
    INSERT INTO summary_counts (day, summary_type, media_type, language, generated, insight_types, outcomes, n, merged)
    SELECT day, summary_type, media_type, language, generated, insight_types, outcomes, sum(n), true
    FROM gone GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING sum(n) <> 0;
    WITH gone AS (DELETE FROM actor_counts WHERE day = ANY(days) RETURNING *)
    INSERT INTO actor_counts (day, summary_type, agent_id, source_id, n, merged)
    SELECT day, summary_type, agent_id, source_id, sum(n), true FROM gone GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0;
    WITH gone AS (DELETE FROM title_counts WHERE day = ANY(days) RETURNING *)
    INSERT INTO title_counts (day, type, title_key, title, summary_type, media_type, language, generated, resolved,
                              summaries, mentions, merged)
    SELECT day, type, title_key, title, summary_type, media_type, language, generated, resolved,
           sum(summaries), sum(mentions), true
    FROM gone GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9 HAVING sum(summaries) <> 0 OR sum(mentions) <> 0;
    RETURN cardinality(days);
END
$$;

-- What is stored already.
SELECT parley_count(ARRAY(SELECT id FROM summaries), 1);
SELECT parley_merge_counts();
