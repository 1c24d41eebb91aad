-- Genesys conversation ids. In Genesys's data model every summary carries the Genesys
-- conversation id as conversationId. A Conversation that sends one (other than its own
-- summaryId) keeps it here, and its children may link to it by that id or by its
-- summaryId. A child that linked by the Genesys id keeps it here too, so it reads back as
-- sent; conversation_id stays the parent's summary_id, which the foreign key needs.
ALTER TABLE summaries ADD COLUMN genesys_conversation_id text;

-- One Conversation per Genesys conversation, so a child's link is never ambiguous; the
-- same index finds a conversation's parent by its Genesys id.
CREATE UNIQUE INDEX summaries_genesys_conversation_key ON summaries (genesys_conversation_id)
    WHERE summary_type = 'Conversation' AND genesys_conversation_id IS NOT NULL;
