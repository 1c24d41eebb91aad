-- dateCreated is always a real instant: PostgreSQL's +-infinity is refused from now
-- on. NOT VALID: rows stored before this rule are left as they are (reads render
-- them), and the migration does not scan the table.
ALTER TABLE summaries ADD CONSTRAINT summaries_date_created_finite CHECK (isfinite(date_created)) NOT VALID;
