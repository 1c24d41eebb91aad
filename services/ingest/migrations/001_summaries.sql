-- Conversation summaries and their insights.

CREATE TABLE summaries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    summary_id      text        NOT NULL,
    summary_type    text        NOT NULL CHECK (summary_type IN ('Conversation', 'Agent', 'VirtualAgent')),
    media_type      text        NOT NULL CHECK (media_type IN ('Call', 'Email', 'Message', 'Unknown')),
    language        text        NOT NULL,
    agent_id        text,
    source_id       text        NOT NULL,
    summary         text        NOT NULL,
    generated       boolean     NOT NULL,
    date_created    timestamptz NOT NULL,
    conversation_id text,
    -- Always 'Conversation' for a child, so the foreign key below can only
    -- point at a Conversation: the database, not just the service, keeps the
    -- hierarchy one level deep.
    parent_type     text GENERATED ALWAYS AS
                        (CASE WHEN conversation_id IS NULL THEN NULL ELSE 'Conversation' END) STORED,
    content_hash    bytea       NOT NULL,
    create_time     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT summaries_summary_id_key UNIQUE (summary_id),
    CONSTRAINT summaries_id_type_key UNIQUE (summary_id, summary_type),
    CONSTRAINT summaries_parent_fkey FOREIGN KEY (conversation_id, parent_type)
        REFERENCES summaries (summary_id, summary_type) ON DELETE CASCADE,
    CONSTRAINT summaries_children_have_parents
        CHECK ((summary_type = 'Conversation') = (conversation_id IS NULL))
);

CREATE INDEX summaries_conversation_id_idx ON summaries (conversation_id) WHERE conversation_id IS NOT NULL;
-- Listing pages newest first on (date_created, id).
CREATE INDEX summaries_date_created_idx ON summaries (date_created DESC, id DESC);
CREATE INDEX summaries_agent_id_idx ON summaries (agent_id) WHERE agent_id IS NOT NULL;
CREATE INDEX summaries_source_id_idx ON summaries (source_id);

CREATE TABLE insights (
    summary_pk  bigint  NOT NULL REFERENCES summaries (id) ON DELETE CASCADE,
    position    integer NOT NULL,
    type        text    NOT NULL CHECK (type IN ('Reason', 'Resolution', 'ActionItem')),
    title       text    NOT NULL,
    description text    NOT NULL,
    outcome     text,
    PRIMARY KEY (summary_pk, position)
);
