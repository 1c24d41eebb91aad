-- The list indexes of the three filters with few values (language, media type, summary type)
-- carry the other filter columns of that kind, so a combination of them is filtered in the
-- index: the list reads a page's ids by an index-only scan, then those rows alone
-- (reads.list_sql). A rare combination (it, Unknown, Agent, not generated: 196 rows in a
-- million) took 34 ms walking Unknown's index and reading 3,700 heap pages to find 21 rows;
-- it takes 2.5 ms reading 54 index pages. The indexes grow by the included columns: at a
-- million rows, one built at once takes 65 MB instead of 41, and 117 MB built row by row.
--
-- Built in the migration's transaction, which holds writes to summaries back while it runs:
-- some seconds at a million rows. A larger store can build them first, CONCURRENTLY and
-- under other names, and let this migration swap the names.
DROP INDEX summaries_language_date_idx, summaries_media_type_date_idx, summaries_summary_type_date_idx;
CREATE INDEX summaries_language_date_idx ON summaries (language, date_created DESC, id DESC)
    INCLUDE (summary_type, media_type, generated);
CREATE INDEX summaries_media_type_date_idx ON summaries (media_type, date_created DESC, id DESC)
    INCLUDE (summary_type, language, generated);
CREATE INDEX summaries_summary_type_date_idx ON summaries (summary_type, date_created DESC, id DESC)
    INCLUDE (media_type, language, generated);
