-- An Agent summary may stand alone (the spec's example 3: an e-mail summary with only an
-- agent part); a Conversation still has no parent and a VirtualAgent always has one.
ALTER TABLE summaries DROP CONSTRAINT summaries_children_have_parents;
ALTER TABLE summaries ADD CONSTRAINT summaries_parents
    CHECK (CASE summary_type WHEN 'Conversation' THEN conversation_id IS NULL
                             WHEN 'VirtualAgent' THEN conversation_id IS NOT NULL
                             ELSE true END);
