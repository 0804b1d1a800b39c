-- Shieldwall hub ledger on PostgreSQL, schema 1: the SQLite ledger's tables plus the
-- leader's epoch (fencing token). Forward-only: a later change is a new numbered file.
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- Every write transaction takes one number (nextval is never rolled back, and takes no
-- lock): a replica sees another's writes as last_value moving past its own numbers.
CREATE SEQUENCE ledger_changes;

CREATE TABLE invites (
    secret_hash TEXT PRIMARY KEY, name TEXT NOT NULL, created DOUBLE PRECISION NOT NULL,
    expires DOUBLE PRECISION NOT NULL, used_by TEXT NOT NULL DEFAULT '',
    used_at DOUBLE PRECISION, owns TEXT NOT NULL DEFAULT '[]');

CREATE TABLE members (
    name TEXT PRIMARY KEY, key_id TEXT UNIQUE NOT NULL, public_key BYTEA NOT NULL,
    owns TEXT NOT NULL, joined DOUBLE PRECISION NOT NULL, revoked_at DOUBLE PRECISION,
    revoked_why TEXT NOT NULL DEFAULT '', last_seen DOUBLE PRECISION NOT NULL DEFAULT 0,
    last_seq BIGINT NOT NULL DEFAULT 0, signals BIGINT NOT NULL DEFAULT 0,
    rejected BIGINT NOT NULL DEFAULT 0, cursor BIGINT NOT NULL DEFAULT 0);

CREATE TABLE batches (
    member TEXT NOT NULL, seq BIGINT NOT NULL, digest TEXT NOT NULL,
    received DOUBLE PRECISION NOT NULL, count INTEGER NOT NULL,
    first_signal BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (member, seq));
CREATE INDEX batches_received ON batches (received);

CREATE TABLE signals (
    id BIGSERIAL PRIMARY KEY, member TEXT NOT NULL, seq BIGINT NOT NULL, kind TEXT NOT NULL,
    target TEXT NOT NULL, scenario TEXT NOT NULL, count INTEGER NOT NULL,
    first_seen DOUBLE PRECISION NOT NULL, last_seen DOUBLE PRECISION NOT NULL,
    duration DOUBLE PRECISION NOT NULL, received DOUBLE PRECISION NOT NULL,
    reason TEXT NOT NULL, evidence TEXT NOT NULL, outcome TEXT NOT NULL, note TEXT NOT NULL,
    decision BIGINT);
-- As on SQLite: signals on an already blocked target are kept but not indexed by target.
CREATE INDEX signals_by_target ON signals (target) WHERE outcome <> 'already-blocked';

-- The decision log. seq is assigned by the one leader inside its append transaction
-- (never by a sequence: allocation order is not commit order); epoch is the leader's.
CREATE TABLE decisions (
    seq BIGINT PRIMARY KEY, epoch BIGINT NOT NULL, action TEXT NOT NULL, target TEXT NOT NULL,
    until DOUBLE PRECISION NOT NULL, scenario TEXT NOT NULL, origin TEXT NOT NULL,
    created DOUBLE PRECISION NOT NULL, charged TEXT NOT NULL DEFAULT '',
    evidence BYTEA NOT NULL DEFAULT '[]'::bytea);
CREATE INDEX decisions_target ON decisions (target);
CREATE INDEX decisions_created ON decisions (created);

-- One row: the current leader's epoch. A new leader increments it; every append locks
-- the row and is refused unless the epoch is still the appender's.
CREATE TABLE leader_epoch (
    id SMALLINT PRIMARY KEY CHECK (id = 1), epoch BIGINT NOT NULL, holder TEXT NOT NULL,
    since DOUBLE PRECISION NOT NULL);
INSERT INTO leader_epoch (id, epoch, holder, since) VALUES (1, 0, '', 0);
