//! Ready-to-send JSON of recently read dashboards.
//!
//! Decoding a dashboard and rendering it dominated a GET's CPU. Each entry
//! is keyed by dashboard and `include=properties`, and is valid for one
//! version (the dashboard's `updatedAt`, which every write to it or its views
//! moves; the store keeps it in a small key read without decoding). Labels
//! and the reader's default flags depend on the reader, so they are spliced
//! in per request; a bare answer also keeps itself whole for the most common
//! reader (no labels, not a default), sent without a copy.
//!
//! Answers with properties are kept compressed (`packed::squeeze`: LZ4 with
//! the store's dictionary, which holds the views' layouts): 12.7 KB become
//! about 2 KB and decompress in about 2.5 µs, so a budget that held a fifth
//! of the 10k-dashboard bench's answers holds all of them.

use crate::id::Id;
use crate::store::packed;
use actix_web::web::Bytes;
use rustc_hash::FxHashMap;
use std::sync::{Arc, Mutex};

/// The default budget (`--rendered-cache-bytes`): each half holds every
/// dashboard of the 10k-dashboard bench, as lists show them (3 KB each) and
/// with properties (12.7 KB, kept in about 2 KB).
pub const DEFAULT_BYTES: usize = 64 << 20;
const LABELS_PLACEHOLDER: &[u8] = br#""labels":[],"links":"#;
/// The reader's fields when the dashboard is the default of neither the
/// reader nor its org: most readers of most dashboards.
pub const NOT_DEFAULT: &[u8] = br#","isDefaultForUser":false,"isDefaultForOrg":false"#;

pub struct Rendered {
    version: i64,
    /// Everything up to and including `"labels":`: squeezed in answers
    /// with properties, as it is in bare ones.
    head: Bytes,
    squeezed: bool,
    /// The head's length as sent.
    head_len: usize,
    /// Everything after the labels array.
    tail: Bytes,
    /// The whole answer for a reader with no labels to see and `NOT_DEFAULT`
    /// flags, which `head` and `tail` are cut from: sent as it is, without a
    /// copy. Not kept for compressed answers.
    whole: Option<Bytes>,
}

impl Rendered {
    fn new(version: i64, head: Bytes, tail: Bytes) -> Rendered {
        Rendered {
            version,
            head_len: head.len(),
            head,
            squeezed: false,
            tail,
            whole: None,
        }
    }

    /// The same answer with its head compressed, holding no part of the
    /// buffers it was cut from (the tail, ~100 bytes, is copied).
    fn squeezed(self) -> Rendered {
        let mut head = packed::squeeze(&self.head);
        // LZ4 returns its worst-case buffer: keep only the block.
        head.shrink_to_fit();
        Rendered {
            head: Bytes::from(head),
            squeezed: true,
            tail: Bytes::copy_from_slice(&self.tail),
            whole: None,
            ..self
        }
    }

    /// The whole answer with the reader's `labels` and `after` (see
    /// `with_reader`); the kept bytes themselves in the common case.
    pub fn answer(&self, labels: &[u8], after: &[u8]) -> Result<Bytes, String> {
        match &self.whole {
            Some(whole) if labels == b"[]" && after == NOT_DEFAULT => Ok(whole.clone()),
            _ => self.with_reader(labels, after).map(Bytes::from),
        }
    }

    /// The whole answer with the reader's `labels` (a JSON array) in place,
    /// followed by `after` (the reader's own fields, each led by a comma).
    fn with_reader(&self, labels: &[u8], after: &[u8]) -> Result<Vec<u8>, String> {
        let mut out =
            Vec::with_capacity(self.head_len + labels.len() + after.len() + self.tail.len());
        self.write_with_reader(&mut out, labels, after)?;
        Ok(out)
    }

    /// Appends the answer as `with_reader` makes it to `out` (an item of a
    /// list). Fails only if a compressed head does not decompress.
    pub fn write_with_reader(
        &self,
        out: &mut Vec<u8>,
        labels: &[u8],
        after: &[u8],
    ) -> Result<(), String> {
        if self.squeezed {
            packed::unsqueeze_into(&self.head, out)?;
        } else {
            out.extend_from_slice(&self.head);
        }
        out.extend_from_slice(labels);
        out.extend_from_slice(after);
        out.extend_from_slice(&self.tail);
        Ok(())
    }
}

#[derive(Default)]
struct Entries {
    /// IDs are ours, not the caller's: a fast hash is safe here.
    map: FxHashMap<(Id, bool), Arc<Rendered>>,
    bytes: usize,
}

/// Indexed by `with_views`. Each half has its own bound on the bytes kept;
/// past it, about half of its entries are dropped (which half is left to
/// the hash map's order: cheap, and fair to a random mix). They are
/// separate so that answers with properties, four times larger even
/// compressed, do not push out the bare ones every list item reuses.
pub struct RenderedDashboards {
    entries: [Mutex<Entries>; 2],
    max_bytes: [usize; 2],
}

impl Default for RenderedDashboards {
    fn default() -> Self {
        Self::with_budget(DEFAULT_BYTES)
    }
}

impl Rendered {
    fn size(&self) -> usize {
        match &self.whole {
            Some(whole) => whole.len(),
            None => self.head.len() + self.tail.len(),
        }
    }

    /// This bare answer with each cell's view spliced in from its stored
    /// record (`View`'s serde form), as `include=properties` answers it: the
    /// name (when not empty) and properties go where `CellJson` puts them,
    /// before the cell's links. Decoding the records and rendering the whole
    /// answer again cost most of such a GET. `None` when a record is not in
    /// the form serde writes or has an escaped name: render it instead.
    pub fn with_views(&self, dashboard: Id, records: &[(Id, Vec<u8>)]) -> Option<Rendered> {
        if self.squeezed {
            return None;
        }
        let bare = &self.head;
        let mut views = Vec::with_capacity(records.len());
        let mut extra = 0;
        for (cell, record) in records {
            let (name, properties) = view_parts(record)?;
            extra += name.len() + properties.len() + 32;
            views.push((cell.hex(), name, properties));
        }
        // One pass over the cells' links; a record of a cell the dashboard
        // no longer has is not shown.
        let links = format!(r#","links":{{"self":"/api/v2/dashboards/{dashboard}/cells/"#);
        let mut head = Vec::with_capacity(bare.len() + extra);
        let mut from = 0;
        for at in memchr::memmem::find_iter(bare, links.as_bytes()) {
            let cell = at + links.len();
            let (Some(id), Some(b"\",")) =
                (bare.get(cell..cell + 16), bare.get(cell + 16..cell + 18))
            else {
                continue;
            };
            let Some((_, name, properties)) = views.iter().find(|(hex, _, _)| hex[..] == *id)
            else {
                continue;
            };
            head.extend_from_slice(&bare[from..at]);
            if !name.is_empty() {
                head.extend_from_slice(br#","name":""#);
                head.extend_from_slice(name);
                head.push(b'"');
            }
            head.extend_from_slice(br#","properties":"#);
            head.extend_from_slice(properties);
            from = at;
        }
        head.extend_from_slice(&bare[from..]);
        Some(Rendered::new(
            self.version,
            Bytes::from(head),
            self.tail.clone(),
        ))
    }
}

/// A view record's name (the text between its quotes) and raw properties,
/// when the record reads `{"name":"…","properties":…}` with a name that
/// needs no unescaping.
fn view_parts(record: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = record.strip_prefix(br#"{"name":""#)?;
    let end = rest.iter().position(|&b| b == b'"' || b == b'\\')?;
    if rest[end] != b'"' {
        return None;
    }
    let properties = rest[end + 1..]
        .strip_prefix(br#","properties":"#)?
        .strip_suffix(b"}")?;
    properties
        .starts_with(b"{")
        .then_some((&rest[..end], properties))
}

impl RenderedDashboards {
    /// `bytes` in all: half for bare answers, half for answers
    /// with properties.
    pub fn with_budget(bytes: usize) -> Self {
        let bare = bytes / 2;
        RenderedDashboards {
            entries: Default::default(),
            max_bytes: [bare, bytes - bare],
        }
    }

    pub fn get(&self, id: Id, with_views: bool, version: i64) -> Option<Arc<Rendered>> {
        let entries = self.entries[usize::from(with_views)]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        entries
            .map
            .get(&(id, with_views))
            .filter(|r| r.version == version)
            .cloned()
    }

    /// Keeps `json` (rendered with an empty labels array) for `version`.
    pub fn put(
        &self,
        id: Id,
        with_views: bool,
        version: i64,
        json: Vec<u8>,
    ) -> Option<Arc<Rendered>> {
        // The labels of the dashboard itself come after every cell, so the
        // last occurrence is ours even if a view's properties contain the text.
        let at = json
            .windows(LABELS_PLACEHOLDER.len())
            .rposition(|w| w == LABELS_PLACEHOLDER)?;
        let split_head = at + br#""labels":"#.len();
        let tail_at = split_head + 2;
        // Sized exactly: serde's buffer grew by doubling, and spare capacity
        // would be memory the budget does not see.
        let mut whole = Vec::with_capacity(json.len() + NOT_DEFAULT.len());
        whole.extend_from_slice(&json[..tail_at]);
        whole.extend_from_slice(NOT_DEFAULT);
        whole.extend_from_slice(&json[tail_at..]);
        let whole = Bytes::from(whole);
        let mut rendered = Rendered::new(
            version,
            whole.slice(..split_head),
            whole.slice(tail_at + NOT_DEFAULT.len()..),
        );
        rendered.whole = Some(whole);
        Some(self.keep(id, with_views, rendered))
    }

    /// Keeps an answer made by `Rendered::with_views`.
    pub fn keep(&self, id: Id, with_views: bool, rendered: Rendered) -> Arc<Rendered> {
        let rendered = Arc::new(if with_views {
            rendered.squeezed()
        } else {
            rendered
        });
        let mut entries = self.entries[usize::from(with_views)]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if entries.bytes + rendered.size() > self.max_bytes[usize::from(with_views)] {
            let mut to_drop = entries.map.len() / 2;
            entries.map.retain(|_, _| {
                if to_drop > 0 {
                    to_drop -= 1;
                    false
                } else {
                    true
                }
            });
            entries.bytes = entries.map.values().map(|r| r.size()).sum();
        }
        entries.bytes += rendered.size();
        if let Some(old) = entries.map.insert((id, with_views), rendered.clone()) {
            entries.bytes -= old.size();
        }
        rendered
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_labels_into_the_dashboards_own_array() {
        let c = RenderedDashboards::default();
        let id = Id::from_u64(7).expect("id");
        let json = br#"{"cells":[{"properties":{"note":"\"labels\":[],\"links\":"}}],"labels":[],"links":{"self":"/x"}}"#.to_vec();
        let r = c.put(id, true, 5, json).expect("split");
        assert_eq!(
            String::from_utf8(r.with_reader(br#"[{"id":"1"}]"#, b"").expect("answer"))
                .expect("utf8"),
            r#"{"cells":[{"properties":{"note":"\"labels\":[],\"links\":"}}],"labels":[{"id":"1"}],"links":{"self":"/x"}}"#
        );
        assert!(c.get(id, true, 5).is_some());
        assert!(c.get(id, true, 6).is_none(), "another version misses");
        assert!(c.get(id, false, 5).is_none());
    }

    #[test]
    fn the_common_reader_gets_the_kept_bytes_and_any_other_a_splice() {
        let c = RenderedDashboards::default();
        let id = Id::from_u64(7).expect("id");
        let r = c
            .put(
                id,
                false,
                5,
                br#"{"id":"7","labels":[],"links":{"self":"/x"}}"#.to_vec(),
            )
            .expect("split");
        let common = r.answer(b"[]", NOT_DEFAULT).expect("answer");
        assert_eq!(
            &common[..],
            br#"{"id":"7","labels":[],"isDefaultForUser":false,"isDefaultForOrg":false,"links":{"self":"/x"}}"#
        );
        let again = c
            .get(id, false, 5)
            .expect("kept")
            .answer(b"[]", NOT_DEFAULT);
        assert_eq!(again.expect("answer").as_ptr(), common.as_ptr(), "no copy");
        let flags = br#","isDefaultForUser":true,"isDefaultForOrg":false"#;
        for (labels, after) in [(&br#"[{"id":"1"}]"#[..], NOT_DEFAULT), (b"[]", flags)] {
            let answer = r.answer(labels, after).expect("answer");
            assert_ne!(answer.as_ptr(), common.as_ptr());
            assert_eq!(answer, r.with_reader(labels, after).expect("answer"));
        }
        let mut listed = Vec::new();
        r.write_with_reader(&mut listed, b"[]", NOT_DEFAULT)
            .expect("item");
        assert_eq!(listed, common);
    }

    #[test]
    fn splices_view_records_before_each_cells_links() {
        let c = RenderedDashboards::default();
        let id = |n| Id::from_u64(n).expect("id");
        let (d, a, b, gone) = (id(7), id(8), id(9), id(10));
        let cell = |x: Id| {
            format!(
                r#"{{"id":"{x}","viewID":"{x}","links":{{"self":"/api/v2/dashboards/{d}/cells/{x}","view":"/v"}}}}"#
            )
        };
        let bare = format!(
            r#"{{"cells":[{},{}],"labels":[],"links":{{"self":"/x"}}}}"#,
            cell(a),
            cell(b)
        );
        let r = c.put(d, false, 5, bare.into_bytes()).expect("split");
        let records = vec![
            (b, br#"{"name":"","properties":{"shape":"empty"}}"#.to_vec()),
            (
                a,
                r#"{"name":"CPU é","properties":{"shape":"chronograf-v2"}}"#
                    .as_bytes()
                    .to_vec(),
            ),
            (gone, br#"{"name":"x","properties":{}}"#.to_vec()),
        ];
        let spliced = r.with_views(d, &records).expect("plain records");
        let expected = format!(
            r#"{{"cells":[{},{}],"labels":[],"links":{{"self":"/x"}}}}"#,
            cell(a).replace(
                r#","links""#,
                r#","name":"CPU é","properties":{"shape":"chronograf-v2"},"links""#
            ),
            cell(b).replace(r#","links""#, r#","properties":{"shape":"empty"},"links""#)
        );
        assert_eq!(
            String::from_utf8(spliced.with_reader(b"[]", b"").expect("answer")).expect("utf8"),
            expected
        );
        let escaped = vec![(a, br#"{"name":"a\"b","properties":{}}"#.to_vec())];
        assert!(r.with_views(d, &escaped).is_none(), "decoded instead");
    }

    #[test]
    fn answers_with_properties_are_kept_compressed_and_read_back_whole() {
        let c = RenderedDashboards::default();
        let id = |n| Id::from_u64(n).expect("id");
        let d = id(7);
        let cells: Vec<Id> = (8..18).map(id).collect();
        let cell = |x: &Id| {
            format!(
                r#"{{"id":"{x}","x":0,"y":0,"w":4,"h":4,"viewID":"{x}","links":{{"self":"/api/v2/dashboards/{d}/cells/{x}","view":"/api/v2/dashboards/{d}/cells/{x}/view"}}}}"#
            )
        };
        let bare = format!(
            r#"{{"id":"{d}","cells":[{}],"labels":[],"links":{{"self":"/api/v2/dashboards/{d}"}}}}"#,
            cells.iter().map(cell).collect::<Vec<_>>().join(",")
        );
        let props = include_str!("../../tests/fixtures/views/xy.json").trim();
        let records: Vec<(Id, Vec<u8>)> = cells
            .iter()
            .map(|&x| {
                (
                    x,
                    format!(r#"{{"name":"cpu","properties":{props}}}"#).into_bytes(),
                )
            })
            .collect();
        let r = c.put(d, false, 5, bare.into_bytes()).expect("split");
        let spliced = r.with_views(d, &records).expect("plain records");
        let whole = spliced.with_reader(b"[]", b"").expect("answer");
        let kept = c.keep(d, true, spliced);
        assert!(
            kept.size() * 3 < whole.len(),
            "{} bytes kept for {}",
            kept.size(),
            whole.len()
        );
        let back = c.get(d, true, 5).expect("kept");
        assert_eq!(back.answer(b"[]", b"").expect("answer"), whole);
        let mut listed = b"[".to_vec();
        back.write_with_reader(&mut listed, b"[]", b"")
            .expect("item");
        assert_eq!(&listed[1..], &whole[..]);
    }
}
