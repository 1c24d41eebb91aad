-- Counts kept for stats and top insights, so a date range adds up a few rows a day instead
-- of reading every summary. The database keeps them whatever writes (the service, a bulk
-- load, psql):
--
--   summary_counts  summaries a day by type, media type, language, generated, the insight
--                   types they have and their Resolution outcomes;
--   actor_counts    summaries a day by type, agent and source;
--   title_counts    summaries a day by insight type and normalized title (parley_title_key),
--                   with the summary's type, media type, language, generated and whether it
--                   is resolved (a Resolution insight with an outcome).
--
-- Merged counts are kept twice: a day's (monthly false) and a month's (monthly true, `day`
-- its first day), so a year adds up twelve months instead of 365 days. Rows not merged yet
-- are a day's.
--
-- An insert only queues the new summaries' ids (count_queue): counting in the insert
-- statement cost a single-entity POST 10 to 15% of its rate. parley_merge_counts, which the
-- service runs every few seconds, counts the queued summaries and folds the rows appended
-- since into one row per key. A delete appends negative rows for a counted summary, or takes
-- a queued one off the queue. Readers add up the counts and read the queued summaries
-- themselves, so an answer is exact at any moment, merged or not.
--
-- A summary is counted with the insights it has when the merge counts it: insights are
-- written in the transaction that writes their summary, and never changed.

CREATE TABLE summary_counts (
    day           date    NOT NULL,
    summary_type  text    NOT NULL,
    media_type    text    NOT NULL,
    language      text    NOT NULL,
    generated     boolean NOT NULL,
    insight_types text[]  NOT NULL,  -- distinct, sorted
    outcomes      text[]  NOT NULL,  -- the Resolution outcomes, distinct, sorted
    n             bigint  NOT NULL,
    monthly       boolean NOT NULL DEFAULT false,
    merged        boolean NOT NULL DEFAULT false
);

CREATE TABLE actor_counts (
    day          date    NOT NULL,
    summary_type text    NOT NULL,
    agent_id     text,
    source_id    text    NOT NULL,
    n            bigint  NOT NULL,
    monthly      boolean NOT NULL DEFAULT false,
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
    monthly      boolean NOT NULL DEFAULT false,
    merged       boolean NOT NULL DEFAULT false
);

-- The summaries inserted and not counted yet.
CREATE TABLE count_queue (id bigint PRIMARY KEY);

CREATE INDEX summary_counts_day_idx ON summary_counts (monthly, day);
CREATE INDEX actor_counts_day_idx ON actor_counts (monthly, day);
CREATE INDEX title_counts_type_day_idx ON title_counts (type, monthly, day);
-- The rows a merge folds.
CREATE INDEX summary_counts_unmerged_idx ON summary_counts (day) WHERE NOT merged;
CREATE INDEX actor_counts_unmerged_idx ON actor_counts (day) WHERE NOT merged;
CREATE INDEX title_counts_unmerged_idx ON title_counts (day) WHERE NOT merged;
-- Merged rows that count nothing, for the merge to drop.
CREATE INDEX summary_counts_zero_idx ON summary_counts (day) WHERE merged AND n = 0;
CREATE INDEX actor_counts_zero_idx ON actor_counts (day) WHERE merged AND n = 0;
CREATE INDEX title_counts_zero_idx ON title_counts (day) WHERE merged AND summaries = 0 AND mentions = 0;

-- The UTC day a summary is counted on (stats' day, week and month buckets are UTC too).
CREATE FUNCTION parley_day(ts timestamptz) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (ts AT TIME ZONE 'UTC')::date $$;

CREATE FUNCTION parley_queue_added() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO count_queue SELECT id FROM added;
    RETURN NULL;
END
$$;

-- Row by row, as the row goes: when a deleted Conversation takes its children, and each
-- summary its insights, those cascades run after this, and the rows are still here to be
-- counted. A queued summary was never counted: it only leaves the queue (waiting, if a
-- merge is counting it right now, for that merge to finish). The same counts as
-- parley_merge_counts's, negative, for one summary, in statements whose plans are kept
-- (a delete of thousands of rows runs them thousands of times).
CREATE FUNCTION parley_count_deleted() RETURNS trigger
    LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    day date := parley_day(OLD.date_created);
    outcomes text[];
BEGIN
    DELETE FROM count_queue WHERE id = OLD.id;
    IF FOUND THEN
        RETURN OLD;
    END IF;
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
    TRUNCATE summary_counts, actor_counts, title_counts, count_queue;
    RETURN NULL;
END
$$;

CREATE TRIGGER summaries_queued AFTER INSERT ON summaries
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION parley_queue_added();
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

-- One merged row per key: what parley_merge_counts adds into. NULLS NOT DISTINCT: a
-- Conversation's counts (no agent) have one row per key too.
CREATE UNIQUE INDEX summary_counts_merged_key ON summary_counts
    (day, monthly, summary_type, media_type, language, generated, insight_types, outcomes) NULLS NOT DISTINCT
    WHERE merged;
CREATE UNIQUE INDEX actor_counts_merged_key ON actor_counts
    (day, monthly, summary_type, agent_id, source_id) NULLS NOT DISTINCT WHERE merged;
CREATE UNIQUE INDEX title_counts_merged_key ON title_counts
    (day, monthly, type, title_key, title, summary_type, media_type, language, generated, resolved) NULLS NOT DISTINCT
    WHERE merged;

-- Counts the queued summaries, adds the rows appended since the last merge into the merged
-- row of their key, and drops merged rows that came to count nothing (everything they
-- counted was deleted). Only keys with new rows are touched. What transactions this one
-- does not see queue or append meanwhile waits for the next merge. Answers how many rows
-- it folded.
CREATE FUNCTION parley_merge_counts() RETURNS bigint
    LANGUAGE plpgsql AS $$
DECLARE
    folded bigint := 0;
    rows bigint;
BEGIN
    -- One merge at a time; another caller returns at once.
    IF NOT pg_try_advisory_xact_lock(hashtext('parley_merge_counts')) THEN
        RETURN 0;
    END IF;
    -- The summaries before the counts, in the order a TRUNCATE takes them: the two wait
    -- for each other instead of deadlocking.
    LOCK TABLE summaries, insights IN ACCESS SHARE MODE;
    WITH queued AS (DELETE FROM count_queue RETURNING id),
    picked AS MATERIALIZED (
        SELECT s.id, parley_day(s.date_created) AS day, s.summary_type, s.media_type, s.language,
               s.generated, s.agent_id, s.source_id,
               ARRAY(SELECT DISTINCT i.type FROM insights i WHERE i.summary_pk = s.id ORDER BY 1) AS insight_types,
               ARRAY(SELECT DISTINCT i.outcome FROM insights i WHERE i.summary_pk = s.id
                     AND i.type = 'Resolution' AND i.outcome IS NOT NULL ORDER BY 1) AS outcomes
        FROM summaries s JOIN queued q ON q.id = s.id
    ), summaries_counted AS (
        INSERT INTO summary_counts (day, summary_type, media_type, language, generated, insight_types, outcomes, n)
        SELECT day, summary_type, media_type, language, generated, insight_types, outcomes, count(*)
        FROM picked GROUP BY 1, 2, 3, 4, 5, 6, 7
    ), actors_counted AS (
        INSERT INTO actor_counts (day, summary_type, agent_id, source_id, n)
        SELECT day, summary_type, agent_id, source_id, count(*) FROM picked GROUP BY 1, 2, 3, 4
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
           count(*) FILTER (WHERE first), sum(mentions)
    FROM firsts GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
    WITH fresh AS (DELETE FROM summary_counts WHERE NOT merged RETURNING *),
    added AS (
        INSERT INTO summary_counts AS c (day, monthly, summary_type, media_type, language, generated, insight_types,
                                         outcomes, n, merged)
        SELECT d, m, summary_type, media_type, language, generated, insight_types, outcomes, sum(n), true
        FROM fresh, LATERAL (VALUES (day, false), (date_trunc('month', day)::date, true)) AS grain(d, m)
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        ON CONFLICT (day, monthly, summary_type, media_type, language, generated, insight_types, outcomes) WHERE merged
        DO UPDATE SET n = c.n + excluded.n
        RETURNING 1)
    SELECT count(*) INTO rows FROM fresh;
    folded := folded + rows;
    WITH fresh AS (DELETE FROM actor_counts WHERE NOT merged RETURNING *),
    added AS (
        INSERT INTO actor_counts AS c (day, monthly, summary_type, agent_id, source_id, n, merged)
        SELECT d, m, summary_type, agent_id, source_id, sum(n), true
        FROM fresh, LATERAL (VALUES (day, false), (date_trunc('month', day)::date, true)) AS grain(d, m)
        GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (day, monthly, summary_type, agent_id, source_id) WHERE merged DO UPDATE SET n = c.n + excluded.n
        RETURNING 1)
    SELECT count(*) INTO rows FROM fresh;
    folded := folded + rows;
    WITH fresh AS (DELETE FROM title_counts WHERE NOT merged RETURNING *),
    added AS (
        INSERT INTO title_counts AS c (day, monthly, type, title_key, title, summary_type, media_type, language,
                                       generated, resolved, summaries, mentions, merged)
        SELECT d, m, type, title_key, title, summary_type, media_type, language, generated, resolved,
               sum(summaries), sum(mentions), true
        FROM fresh, LATERAL (VALUES (day, false), (date_trunc('month', day)::date, true)) AS grain(d, m)
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10
        ON CONFLICT (day, monthly, type, title_key, title, summary_type, media_type, language, generated, resolved)
            WHERE merged
        DO UPDATE SET summaries = c.summaries + excluded.summaries, mentions = c.mentions + excluded.mentions
        RETURNING 1)
    SELECT count(*) INTO rows FROM fresh;
    folded := folded + rows;
    DELETE FROM summary_counts WHERE merged AND n = 0;
    DELETE FROM actor_counts WHERE merged AND n = 0;
    DELETE FROM title_counts WHERE merged AND summaries = 0 AND mentions = 0;
    RETURN folded;
END
$$;

-- What is stored already.
INSERT INTO count_queue SELECT id FROM summaries;
SELECT parley_merge_counts();
