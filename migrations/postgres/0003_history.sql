-- Version 3: dashboard history (`/api/v2/dashboards/{id}/versions`). Each
-- row holds one version's metadata and how to undo it (see
-- src/domain/history.rs); the newest state is the dashboard itself.
CREATE TABLE dashboard_versions (
    dashboard_id  bytea NOT NULL,
    version       bigint NOT NULL,
    created_nanos bigint NOT NULL,
    body          bytea NOT NULL,
    PRIMARY KEY (dashboard_id, version)
);
