-- Shieldwall hub ledger on PostgreSQL, schema 3: the relay inbox. A replica that does
-- not lead stores each accepted envelope here (committed before anything is answered);
-- the leader runs it through the one policy and writes the answer beside it; the
-- replica that took the envelope reads the answer, deletes the row and replies.
-- The leader takes rows still unanswered, never "id > last id": ids are allocated in
-- insert order, not commit order, so a cursor over them could step over a row that
-- commits late (the same hazard as two writers assigning decision seqs).
CREATE TABLE relay_inbox (
    id BIGSERIAL PRIMARY KEY, replica TEXT NOT NULL, key_id TEXT NOT NULL,
    body BYTEA NOT NULL, received DOUBLE PRECISION NOT NULL,
    answer BYTEA, answered DOUBLE PRECISION);
CREATE INDEX relay_inbox_unanswered ON relay_inbox (id) WHERE answer IS NULL;
CREATE INDEX relay_inbox_answered ON relay_inbox (answered) WHERE answer IS NOT NULL;
