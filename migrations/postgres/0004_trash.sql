-- Version 4: the dashboard trash (`/api/v2/trash/dashboards`). Each row is
-- one deleted dashboard with its views, members, labels and history, as
-- one record (see src/domain/trash.rs), kept until restored, purged or
-- past `--trash-retention`.
CREATE TABLE dashboard_trash (
    id            bytea PRIMARY KEY,
    org_id        bytea NOT NULL,
    deleted_nanos bigint NOT NULL,
    body          bytea NOT NULL
);
CREATE INDEX dashboard_trash_org ON dashboard_trash (org_id, id);
