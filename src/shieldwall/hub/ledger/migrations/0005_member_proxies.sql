-- Shieldwall hub ledger on PostgreSQL, schema 5: each member's declared reverse proxies
-- (POST /v1/proxies, hub/proxies.py). The hub refuses a member's own detections that
-- blame one of them; a new declaration replaces the row, an empty one deletes it.
-- proxies: a JSON list of networks, the SQLite ledger's encoding (as members.owns).
CREATE TABLE member_proxies (
    member TEXT PRIMARY KEY REFERENCES members (name),
    proxies TEXT NOT NULL, declared DOUBLE PRECISION NOT NULL);
