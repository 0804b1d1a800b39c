-- Shieldwall hub ledger on PostgreSQL, schema 4: the readiness roster every replica
-- shares. One row per member: the roster entry (msgspec JSON of hub.roster.Entry) of
-- its latest heartbeat, written by the replica that took it; every replica merges the
-- rows newer than what it holds, so heartbeats landing on one replica show on all.
-- Upserted in place (one row per member, never a log): the transitions stay in the
-- journal, written by the leader.
CREATE TABLE readiness_roster (
    member TEXT PRIMARY KEY, seen DOUBLE PRECISION NOT NULL, body BYTEA NOT NULL);
CREATE INDEX readiness_roster_seen ON readiness_roster (seen);
