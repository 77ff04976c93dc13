//! What both bench binaries measure the same way.

use tessera::domain::dashboard::DashboardWithViews;

/// The logical size of a dashboard: its JSON and each view's, as GET shows
/// them. Disk use is reported against the sum of these.
pub fn logical_json_bytes(full: &DashboardWithViews) -> usize {
    let views: usize = full.views.as_ref().map_or(0, |v| {
        v.values()
            .map(|v| serde_json::to_vec(v).map_or(0, |b| b.len()))
            .sum()
    });
    serde_json::to_vec(&full.dashboard).map_or(0, |v| v.len()) + views
}
