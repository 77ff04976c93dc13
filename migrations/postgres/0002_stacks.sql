-- Version 2: template stacks (`/api/v2/stacks`), listed per org.
CREATE TABLE stacks (
    id     bytea PRIMARY KEY,
    org_id bytea NOT NULL,
    body   bytea NOT NULL
);
CREATE INDEX stacks_by_org ON stacks (org_id, id);
