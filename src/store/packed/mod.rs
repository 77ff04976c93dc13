//! How the embedded store lays out a record's value: its JSON, or, when the
//! JSON is long enough to gain, a tag byte and the JSON zstd-compressed with
//! a dictionary built into the binary. Views and history versions are most
//! of what the store holds; a smaller value is fewer bytes for sled to cache,
//! log and rewrite at every page consolidation.
//!
//! Values of a few hundred bytes hardly compress on their own (a view: 2×);
//! what they share with every other value is their layout, so the dictionary
//! holds that: each view type's keys, and the Flux the Influx UI's query
//! builder writes (a view: 3.1×, a history version: 3.5×). See
//! `make_dict_v1.py`.
//!
//! The tag names the dictionary. JSON text never starts with a byte below
//! 0x09, so values written before compression read back as they are. A
//! dictionary is frozen once released: a new one gets a new tag and the old
//! one stays for the values written with it.
//!
//! sled's own compression is not used: sled 0.34 decompresses every log
//! message at recovery, which made a restart ten times slower
//! (docs/performance.md).

use std::borrow::Cow;
use std::cell::RefCell;

/// Values starting with this byte are zstd frames made with `DICT_V1`.
const TAG_V1: u8 = 0x01;
const DICT_V1: &[u8] = include_bytes!("v1.dict");
/// Shorter JSON is stored as it is: the tag and the frame's header would
/// eat most of the gain, and these are the small index and mapping values.
const PACK_FROM: usize = 128;
/// zstd's fastest regular level; on these records higher levels gain a few
/// per cent and cost more time under the writer lock (a view: 6 µs).
const LEVEL: i32 = 1;
/// No record is this large (request bodies are capped far below it); a
/// frame that claims more is damaged.
const MAX_PLAIN: u64 = 256 * 1024 * 1024;

thread_local! {
    // A zstd context with its dictionary loaded costs far more to make than
    // to use on one value; one per thread keeps that off every value.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

fn compressor() -> std::io::Result<zstd::bulk::Compressor<'static>> {
    use zstd::zstd_safe::{CParameter, ParamSwitch};
    let mut c = zstd::bulk::Compressor::with_dictionary(LEVEL, DICT_V1)?;
    // Literals left raw: values come out ~9 % larger, but a read no longer
    // builds a Huffman table per value, which was most of a GET with
    // properties' time in zstd (3.6 → 0.9 µs per view).
    c.set_parameter(CParameter::LiteralCompressionMode(ParamSwitch::Disable))?;
    Ok(c)
}

/// The value to store for `json`.
pub fn pack(json: &[u8]) -> Cow<'_, [u8]> {
    if json.len() < PACK_FROM {
        return Cow::Borrowed(json);
    }
    let packed = COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            *c = compressor().ok();
        }
        let mut out = c.as_mut()?.compress(json).ok()?;
        out.insert(0, TAG_V1);
        Some(out)
    });
    match packed {
        Some(p) if p.len() < json.len() => Cow::Owned(p),
        // Compression is an optimisation: if it fails or gains nothing, the
        // JSON itself is a valid value.
        _ => Cow::Borrowed(json),
    }
}

/// The JSON of a stored value.
pub fn unpack(value: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    if value.first() != Some(&TAG_V1) {
        return Ok(Cow::Borrowed(value));
    }
    let mut plain = Vec::new();
    unpack_into(value, &mut plain)?;
    Ok(Cow::Owned(plain))
}

/// Appends the JSON of a packed value to `out` (decompressed in place, with
/// no copy in between); `out` is left as it was on an error.
pub fn unpack_into(value: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let Some((&TAG_V1, frame)) = value.split_first() else {
        out.extend_from_slice(value);
        return Ok(());
    };
    let size = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(n)) if n <= MAX_PLAIN => n as usize,
        _ => return Err("compressed value without a valid size".into()),
    };
    let start = out.len();
    out.reserve(size);
    DECOMPRESSOR
        .with(|d| {
            let mut d = d.borrow_mut();
            if d.is_none() {
                *d = Some(
                    zstd::bulk::Decompressor::with_dictionary(DICT_V1)
                        .map_err(|e| e.to_string())?,
                );
            }
            let d = d.as_mut().ok_or("no zstd context")?;
            let mut at = std::io::Cursor::new(&mut *out);
            at.set_position(start as u64);
            match d.decompress_to_buffer(frame, &mut at) {
                Ok(n) if n == size => Ok(()),
                Ok(_) => Err("compressed value shorter than its frame says".into()),
                Err(e) => Err(e.to_string()),
            }
        })
        .inspect_err(|_| out.truncate(start))
}

/// Values kept in memory only (ready-to-send answers): LZ4 with the same
/// dictionary, led by the JSON's length (u32 LE). About a fifth larger than
/// `pack`'s zstd, but it decompresses in a third of the time (a 12 KB
/// answer with properties: ~2.5 µs against ~6–9 µs), and these are
/// decompressed on every cache hit. Never stored: the layout may change
/// between releases.
pub fn squeeze(json: &[u8]) -> Vec<u8> {
    lz4_flex::block::compress_prepend_size_with_dict(json, DICT_V1)
}

/// Appends the JSON of a `squeeze`d value to `out`; `out` is left as it
/// was on an error.
pub fn unsqueeze_into(value: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let (len, block) = value
        .split_first_chunk::<4>()
        .ok_or("squeezed value without its length")?;
    let size = u32::from_le_bytes(*len) as usize;
    let start = out.len();
    out.resize(start + size, 0);
    match lz4_flex::block::decompress_into_with_dict(block, &mut out[start..], DICT_V1) {
        Ok(n) if n == size => Ok(()),
        Ok(_) => Err("squeezed value shorter than its length says".into()),
        Err(e) => Err(e.to_string()),
    }
    .inspect_err(|_| out.truncate(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view_json() -> Vec<u8> {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../../../tests/fixtures/views/xy.json"))
                .expect("fixture");
        serde_json::to_vec(&v).expect("json")
    }

    #[test]
    fn long_json_is_compressed_and_comes_back_whole() {
        let json = view_json();
        let packed = pack(&json);
        assert_eq!(packed.first(), Some(&TAG_V1));
        assert!(
            packed.len() < json.len() / 2,
            "{} of {}",
            packed.len(),
            json.len()
        );
        assert_eq!(unpack(&packed).expect("unpack").as_ref(), json.as_slice());
    }

    #[test]
    fn short_json_and_values_written_before_compression_read_as_they_are() {
        let short = br#"{"id":"0000000000000001"}"#.to_vec();
        assert!(matches!(pack(&short), Cow::Borrowed(b) if b == short.as_slice()));
        let old = view_json();
        assert!(matches!(unpack(&old), Ok(Cow::Borrowed(b)) if b == old.as_slice()));
    }

    #[test]
    fn unpacking_appends_to_what_is_there() {
        let json = view_json();
        let mut out = b"head:".to_vec();
        unpack_into(&pack(&json), &mut out).expect("packed");
        unpack_into(b"{}", &mut out).expect("plain");
        assert_eq!(out, [&b"head:"[..], &json, b"{}"].concat());
        let mut damaged = pack(&json).into_owned();
        damaged.truncate(damaged.len() / 2);
        assert!(unpack_into(&damaged, &mut out).is_err());
        assert_eq!(out.len(), 5 + view_json().len() + 2, "left as it was");
    }

    #[test]
    fn squeezed_json_comes_back_whole_after_what_is_there() {
        let json = view_json();
        let squeezed = squeeze(&json);
        assert!(
            squeezed.len() < json.len() / 2,
            "{} of {}",
            squeezed.len(),
            json.len()
        );
        let mut out = b"head:".to_vec();
        unsqueeze_into(&squeezed, &mut out).expect("squeezed");
        assert_eq!(out, [&b"head:"[..], &json].concat());
        for damaged in [&squeezed[..3], &squeezed[..squeezed.len() / 2]] {
            assert!(unsqueeze_into(damaged, &mut out).is_err());
            assert_eq!(out.len(), 5 + json.len(), "left as it was");
        }
    }

    #[test]
    fn a_damaged_frame_is_an_error_not_a_panic() {
        let mut packed = pack(&view_json()).into_owned();
        packed.truncate(packed.len() / 2);
        assert!(unpack(&packed).is_err());
        assert!(unpack(&[TAG_V1]).is_err());
        let mut flipped = pack(&view_json()).into_owned();
        let last = flipped.len() - 1;
        flipped[last] ^= 0xFF;
        // zstd frames carry no checksum here; a flipped byte either fails or
        // decodes to other bytes, never panics.
        let _ = unpack(&flipped);
    }

    #[test]
    fn the_released_dictionary_is_unchanged() {
        // Values written with tag 1 are unreadable without these exact bytes.
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(DICT_V1);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "ace4f401f577ea577c92bf6d2d2ac60776cdf2694bacb4feac0abda2e57250f8"
        );
    }
}
