//! Timestamps as InfluxDB prints them: RFC 3339 in UTC with up to nine
//! fractional digits and trailing zeros trimmed (Go's `time.RFC3339Nano`).

use serde::{Deserialize, Serialize};
use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    pub fn now() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i64)
            .unwrap_or(0);
        Timestamp(nanos)
    }

    /// Now, but strictly later than `prev` even if the clock stepped back:
    /// a dashboard's `updatedAt` doubles as its version (`api::rendered`).
    pub fn now_after(prev: Timestamp) -> Self {
        Timestamp(Self::now().0.max(prev.0.saturating_add(1)))
    }

    pub fn from_nanos(n: i64) -> Self {
        Timestamp(n)
    }

    pub fn nanos(self) -> i64 {
        self.0
    }

    pub fn rfc3339(self) -> String {
        let Ok(dt) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0)) else {
            return "1970-01-01T00:00:00Z".into();
        };
        let mut out = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        );
        let nanos = dt.nanosecond();
        if nanos > 0 {
            let frac = format!("{nanos:09}");
            out.push('.');
            out.push_str(frac.trim_end_matches('0'));
        }
        out.push('Z');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go_rfc3339nano() {
        assert_eq!(Timestamp::from_nanos(0).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Timestamp::from_nanos(1_764_064_800_123_456_789).rfc3339(),
            "2025-11-25T10:00:00.123456789Z"
        );
        assert_eq!(
            Timestamp::from_nanos(1_764_064_800_120_000_000).rfc3339(),
            "2025-11-25T10:00:00.12Z"
        );
    }
}
