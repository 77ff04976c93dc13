-- Version 6: external dashboards (`/api/v2/externalDashboards`): pages
-- that live elsewhere, listed beside an org's dashboards. name_key is the
-- name lowercased by Tessera: names are unique per org without regard to
-- case. Their label mappings live in label_mappings like any resource's.
CREATE TABLE external_dashboards (
    id       bytea PRIMARY KEY,
    org_id   bytea NOT NULL,
    name_key text NOT NULL,
    body     bytea NOT NULL,
    UNIQUE (org_id, name_key)
);
