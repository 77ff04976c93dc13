//! pkger's validation errors: nested per resource while parsing, flattened
//! into `{kind, fields, idxs, reason}` for the answer.

use serde::Serialize;

/// One failure, possibly nested under the field it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct VErr {
    pub field: String,
    pub msg: String,
    pub index: Option<usize>,
    pub nested: Vec<VErr>,
}

impl VErr {
    pub fn leaf(field: &str, msg: impl Into<String>) -> VErr {
        VErr {
            field: field.to_string(),
            msg: msg.into(),
            index: None,
            nested: Vec::new(),
        }
    }

    pub fn nested(field: &str, nested: Vec<VErr>) -> VErr {
        VErr {
            field: field.to_string(),
            msg: String::new(),
            index: None,
            nested,
        }
    }

    pub fn at(mut self, index: usize) -> VErr {
        self.index = Some(index);
        self
    }
}

/// The failures of one template object.
#[derive(Debug, Clone, Default)]
pub struct ResourceErr {
    pub kind: String,
    pub idx: Option<usize>,
    /// Failures of the template as a whole (no resources at all).
    pub root: Vec<VErr>,
    pub errs: Vec<VErr>,
}

/// One flattened failure, as the apply answer lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidationErr {
    pub kind: String,
    pub fields: Vec<String>,
    pub idxs: Vec<Option<usize>>,
    pub reason: String,
}

impl ValidationErr {
    /// `kind=Dashboard field=root[0].metadata.name reason="…"`.
    pub fn line(&self) -> String {
        let parts: Vec<String> = self
            .fields
            .iter()
            .zip(&self.idxs)
            .map(|(f, i)| match i {
                Some(i) => format!("{f}[{i}]"),
                None => f.clone(),
            })
            .collect();
        format!(
            "kind={} field={} reason={:?}",
            self.kind,
            parts.join("."),
            self.reason
        )
    }
}

fn traverse(
    fields: &[String],
    idxs: &[Option<usize>],
    kind: &str,
    e: &VErr,
    out: &mut Vec<ValidationErr>,
) {
    let mut fields = fields.to_vec();
    let mut idxs = idxs.to_vec();
    fields.push(e.field.clone());
    idxs.push(e.index);
    if e.nested.is_empty() {
        out.push(ValidationErr {
            kind: kind.to_string(),
            fields,
            idxs,
            reason: e.msg.clone(),
        });
        return;
    }
    for n in &e.nested {
        traverse(&fields, &idxs, kind, n, out);
    }
}

/// Flattens in resource order, dropping exact duplicates.
pub fn flatten(resources: &[ResourceErr]) -> Vec<ValidationErr> {
    let mut all = Vec::new();
    for r in resources {
        for e in &r.root {
            traverse(&[], &[], &r.kind, e, &mut all);
        }
        for e in &r.errs {
            traverse(&["root".to_string()], &[r.idx], &r.kind, e, &mut all);
        }
    }
    let mut out: Vec<ValidationErr> = Vec::new();
    for e in all {
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}
