-- Version 5: teams. Custom roles per org (`/api/v2/orgs/{id}/roles`; the
-- built-in "Org Admin" and "Viewer" are not stored), the roles each member
-- holds in an org, and the default dashboards of users and orgs; and
-- private dashboards, whose flag GET reads with the stamp (as sled's stamp
-- key carries it), so a dashboard that is not private costs no decoding.
ALTER TABLE dashboards ADD COLUMN private boolean NOT NULL DEFAULT false;

CREATE TABLE roles (
    id       bytea PRIMARY KEY,
    org_id   bytea NOT NULL,
    -- The name lowercased: role names are unique per org without regard to case.
    name_key text NOT NULL,
    body     bytea NOT NULL,
    UNIQUE (org_id, name_key)
);

CREATE TABLE role_assignments (
    user_id bytea NOT NULL,
    org_id  bytea NOT NULL,
    body    bytea NOT NULL,
    PRIMARY KEY (user_id, org_id)
);
CREATE INDEX role_assignments_by_org ON role_assignments (org_id, user_id);

-- owner_id is a user's or an org's ID (IDs are unique across kinds).
CREATE TABLE default_dashboards (
    owner_id     bytea PRIMARY KEY,
    dashboard_id bytea NOT NULL,
    body         bytea NOT NULL
);
CREATE INDEX default_dashboards_by_dashboard ON default_dashboards (dashboard_id);
