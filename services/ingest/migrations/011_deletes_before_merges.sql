-- A batch delete and the counts merge deadlocked on count_queue: the merge deletes every
-- queued row in one statement while a delete's trigger takes queued rows one at a time, in
-- another order. Deletes now take the merge's lock, shared, before touching the queue.

CREATE OR REPLACE FUNCTION parley_count_deleted() RETURNS trigger
    LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    day date := parley_day(OLD.date_created);
    outcomes text[];
BEGIN
    -- Before the queue: a merge (which holds this lock while it empties the queue) and a
    -- delete would otherwise each wait on a queue row the other has taken. A merge that
    -- finds deletes running leaves the queue for its next round.
    PERFORM pg_advisory_xact_lock_shared(hashtext('parley_merge_counts'));
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
