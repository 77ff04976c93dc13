-- Tessera's PostgreSQL schema, version 1.
--
-- Records are stored as the same JSON bytes the sled backend keeps (bytea,
-- not jsonb: view properties must come back byte for byte, key order
-- included). IDs are the 8 big-endian bytes of the platform ID, so ORDER BY
-- id is creation order as in sled and psql shows them as the familiar hex.
-- Columns beside `body` exist for lookups, ordering and constraints.

CREATE TABLE tessera_meta (
    key   text PRIMARY KEY,
    value bytea NOT NULL
);

-- Bumped by every write transaction; other instances poll it (and hear a
-- NOTIFY on channel tessera_change) to drop cached credentials.
CREATE TABLE tessera_state (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    generation bigint NOT NULL
);
INSERT INTO tessera_state (generation) VALUES (0);

-- The 64 node numbers of the ID generator. An instance claims a free one (or
-- one whose lease ran out) at start, renews its lease while it runs and
-- releases it on stop. high_water is the highest ID issued under that node.
CREATE TABLE tessera_nodes (
    node        smallint PRIMARY KEY CHECK (node BETWEEN 0 AND 63),
    holder      text,
    lease_until timestamptz,
    high_water  bigint NOT NULL DEFAULT 0
);
INSERT INTO tessera_nodes (node) SELECT generate_series(0, 63);

CREATE TABLE orgs (
    id   bytea PRIMARY KEY,
    name text NOT NULL UNIQUE,
    body bytea NOT NULL
);

CREATE TABLE users (
    id   bytea PRIMARY KEY,
    name text NOT NULL UNIQUE,
    body bytea NOT NULL
);

CREATE TABLE dashboards (
    id            bytea PRIMARY KEY,
    org_id        bytea NOT NULL,
    -- updatedAt in nanoseconds: the version the rendered-JSON cache checks.
    updated_nanos bigint NOT NULL,
    body          bytea NOT NULL
);
CREATE INDEX dashboards_by_org ON dashboards (org_id, id);

CREATE TABLE views (
    dashboard_id bytea NOT NULL,
    cell_id      bytea NOT NULL,
    body         bytea NOT NULL,
    PRIMARY KEY (dashboard_id, cell_id)
);

CREATE TABLE authorizations (
    id         bytea PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    body       bytea NOT NULL
);

CREATE TABLE sessions (
    id   text COLLATE "C" PRIMARY KEY,
    body bytea NOT NULL
);

-- Owner/member mappings.
CREATE TABLE mappings (
    resource_id bytea NOT NULL,
    user_id     bytea NOT NULL,
    body        bytea NOT NULL,
    PRIMARY KEY (resource_id, user_id)
);
CREATE INDEX mappings_by_user ON mappings (user_id, resource_id);

-- name_key is the name lowercased (by Tessera, as the sled index does):
-- label and variable names are unique per org without regard to case.
CREATE TABLE labels (
    id       bytea PRIMARY KEY,
    org_id   bytea NOT NULL,
    name_key text NOT NULL,
    body     bytea NOT NULL,
    UNIQUE (org_id, name_key)
);

CREATE TABLE label_mappings (
    resource_id bytea NOT NULL,
    label_id    bytea NOT NULL,
    body        bytea NOT NULL,
    PRIMARY KEY (resource_id, label_id)
);
CREATE INDEX label_mappings_by_label ON label_mappings (label_id, resource_id);

CREATE TABLE variables (
    id       bytea PRIMARY KEY,
    org_id   bytea NOT NULL,
    name_key text NOT NULL,
    body     bytea NOT NULL,
    UNIQUE (org_id, name_key)
);

CREATE TABLE buckets (
    id   bytea PRIMARY KEY,
    body bytea NOT NULL
);
