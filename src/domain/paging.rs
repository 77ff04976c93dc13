//! Find options and paging links, as InfluxDB's `DecodeFindOptions` and
//! `NewPagingLinks` have them.

use crate::error::{Error, Result};

pub const DEFAULT_PAGE_SIZE: usize = 20;
pub const MAX_PAGE_SIZE: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    Id,
    CreatedAt,
    UpdatedAt,
    Name,
}

impl SortBy {
    fn as_str(self) -> &'static str {
        match self {
            SortBy::Id => "ID",
            SortBy::CreatedAt => "CreatedAt",
            SortBy::UpdatedAt => "UpdatedAt",
            SortBy::Name => "Name",
        }
    }
}

#[derive(Debug, Clone)]
pub struct FindOptions {
    pub limit: usize,
    pub offset: usize,
    pub descending: bool,
    pub sort_by: SortBy,
    /// Whether `sortBy` was given (it is echoed in the links only then).
    sort_given: bool,
}

impl Default for FindOptions {
    fn default() -> Self {
        FindOptions {
            limit: DEFAULT_PAGE_SIZE,
            offset: 0,
            descending: false,
            sort_by: SortBy::Id,
            sort_given: false,
        }
    }
}

impl FindOptions {
    /// Reads `limit`, `offset`, `descending`, `sortBy` from query pairs.
    pub fn from_query(pairs: &[(String, String)]) -> Result<Self> {
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let mut o = FindOptions::default();
        if let Some(v) = get("offset").filter(|v| !v.is_empty()) {
            o.offset = v
                .parse::<usize>()
                .map_err(|_| Error::invalid("offset is invalid"))?;
        }
        if let Some(v) = get("limit").filter(|v| !v.is_empty()) {
            let l = v
                .parse::<i64>()
                .map_err(|_| Error::invalid("limit is invalid"))?;
            if l < 1 || l > MAX_PAGE_SIZE as i64 {
                return Err(Error::invalid(format!(
                    "limit must be between 1 and {MAX_PAGE_SIZE}"
                )));
            }
            o.limit = l as usize;
        }
        if let Some(v) = get("descending").filter(|v| !v.is_empty()) {
            // Go's ParseBool, any case: the Python client sends `True`.
            o.descending = match v.to_ascii_lowercase().as_str() {
                "1" | "t" | "true" => true,
                "0" | "f" | "false" => false,
                _ => return Err(Error::invalid("descending is invalid")),
            };
        }
        if let Some(v) = get("sortBy").filter(|v| !v.is_empty()) {
            // Unknown keys sort by ID, as in InfluxDB.
            o.sort_by = match v {
                "CreatedAt" | "createdAt" => SortBy::CreatedAt,
                "UpdatedAt" | "updatedAt" => SortBy::UpdatedAt,
                "Name" | "name" => SortBy::Name,
                _ => SortBy::Id,
            };
            o.sort_given = true;
        }
        Ok(o)
    }

    /// The options as the links' query pairs, all but the offset (each
    /// link has its own).
    fn query_pairs(&self) -> Vec<(String, String)> {
        let mut v = vec![
            ("descending".to_string(), self.descending.to_string()),
            ("limit".to_string(), self.limit.to_string()),
        ];
        if self.sort_given {
            v.push(("sortBy".to_string(), self.sort_by.as_str().to_string()));
        }
        v
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PagingLinks {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prev: Option<String>,
    #[serde(rename = "self")]
    pub this: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

/// `filter` holds the filter's query pairs; `returned` the number of items on
/// this page. Keys are sorted, as Go's `url.Values.Encode` does.
pub fn paging_links(
    base: &str,
    opts: &FindOptions,
    filter: &[(String, String)],
    returned: usize,
) -> PagingLinks {
    let mut pairs: Vec<(String, String)> = filter
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .cloned()
        .chain(opts.query_pairs())
        .collect();
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    // The links differ only in the offset: the pairs around it are encoded
    // once (a list answer paid for encoding them three times).
    let at = pairs.partition_point(|(k, _)| k.as_str() < "offset");
    let encode = |pairs: &[(String, String)]| {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    };
    let (head, tail) = (encode(&pairs[..at]), encode(&pairs[at..]));
    let link = |offset: usize| {
        let mut s = String::with_capacity(base.len() + head.len() + tail.len() + 32);
        s.push_str(base);
        s.push('?');
        s.push_str(&head);
        if !head.is_empty() {
            s.push('&');
        }
        s.push_str("offset=");
        s.push_str(&offset.to_string());
        if !tail.is_empty() {
            s.push('&');
            s.push_str(&tail);
        }
        s
    };
    PagingLinks {
        this: link(opts.offset),
        next: (returned >= opts.limit).then(|| link(opts.offset + opts.limit)),
        prev: (opts.offset > 0).then(|| link(opts.offset.saturating_sub(opts.limit))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn options_errors() {
        assert_eq!(
            FindOptions::from_query(&q(&[("limit", "0")]))
                .unwrap_err()
                .message,
            "limit must be between 1 and 100"
        );
        assert_eq!(
            FindOptions::from_query(&q(&[("limit", "101")]))
                .unwrap_err()
                .message,
            "limit must be between 1 and 100"
        );
        assert_eq!(
            FindOptions::from_query(&q(&[("offset", "-1")]))
                .unwrap_err()
                .message,
            "offset is invalid"
        );
        assert_eq!(
            FindOptions::from_query(&q(&[("descending", "yes")]))
                .unwrap_err()
                .message,
            "descending is invalid"
        );
        assert!(
            FindOptions::from_query(&q(&[("descending", "True")]))
                .unwrap()
                .descending
        );
    }

    #[test]
    fn links_like_influx() {
        let o = FindOptions::from_query(&q(&[("limit", "2"), ("offset", "2")])).unwrap();
        let l = paging_links(
            "/api/v2/dashboards",
            &o,
            &q(&[("orgID", "0000000000000001")]),
            2,
        );
        assert_eq!(
            l.this,
            "/api/v2/dashboards?descending=false&limit=2&offset=2&orgID=0000000000000001"
        );
        assert_eq!(
            l.next.as_deref(),
            Some("/api/v2/dashboards?descending=false&limit=2&offset=4&orgID=0000000000000001")
        );
        assert_eq!(
            l.prev.as_deref(),
            Some("/api/v2/dashboards?descending=false&limit=2&offset=0&orgID=0000000000000001")
        );
        let l = paging_links("/api/v2/dashboards", &o, &[], 1);
        assert!(l.next.is_none());
        assert_eq!(
            l.this,
            "/api/v2/dashboards?descending=false&limit=2&offset=2"
        );
        let sorted = FindOptions::from_query(&q(&[("sortBy", "name")])).unwrap();
        let l = paging_links(
            "/api/v2/dashboards",
            &sorted,
            &q(&[("org", "my org&co")]),
            20,
        );
        assert_eq!(
            l.next.as_deref(),
            Some("/api/v2/dashboards?descending=false&limit=20&offset=20&org=my+org%26co&sortBy=Name")
        );
        assert!(l.prev.is_none());
    }
}
