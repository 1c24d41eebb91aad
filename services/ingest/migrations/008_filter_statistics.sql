-- The list's filters are correlated (a language and a media type go with a source, children
-- with agents): with statistics on their combinations the planner sees that a combination
-- is rare and reads the indexes of each filter together, instead of walking one of them in
-- list order hoping to meet enough rows.
CREATE STATISTICS summaries_filter_stats (mcv, dependencies) ON summary_type, media_type, language, generated
    FROM summaries;
