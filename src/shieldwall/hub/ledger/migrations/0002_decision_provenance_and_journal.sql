-- Schema 2: each decision names the policy version it was made under, the rule version
-- that caused it and, for drills, the drill id; and the institutions' append-only journal
-- (council acts, readiness transitions, drill reports, arsenal records, disputes).
ALTER TABLE decisions ADD COLUMN policy TEXT NOT NULL DEFAULT '';
ALTER TABLE decisions ADD COLUMN rule TEXT NOT NULL DEFAULT '';
ALTER TABLE decisions ADD COLUMN drill TEXT NOT NULL DEFAULT '';

CREATE TABLE journal (
    id BIGSERIAL PRIMARY KEY, kind TEXT NOT NULL, key TEXT NOT NULL,
    at DOUBLE PRECISION NOT NULL, body BYTEA NOT NULL);
CREATE INDEX journal_by_kind ON journal (kind, key, id);
