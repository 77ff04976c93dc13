//! Templates, as InfluxDB 2.x's `pkger` has them: parse JSON/YAML
//! templates (and the 2.0–2.3 UI's dashboard files), check them with
//! pkger's error shapes, plan what they change in an org, and carry the
//! plan out as one atomic store change recorded in a stack; export stored
//! resources back into template objects.

pub mod chart;
pub mod errors;
pub mod export;
pub mod legacy;
pub mod parse;
pub mod plan;
pub mod resource;
pub mod wire;

use super::org::ERR_ORG_NOT_FOUND;
use super::stack::{self, require_org, EventType, Stack};
use super::Service;
use crate::auth::permission::{Action, Actor};
use crate::error::{Error, Result};
use crate::id::Id;
use crate::store::{Change, StoreRead};
use errors::{flatten, ValidationErr};
use parse::{decode, graph, Decoded, Encoding, Graph};
use plan::{Plan, Skips};
use rand::Rng;
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use wire::ApplyReport;

/// One template of an apply request, already read.
#[derive(Debug, Clone)]
pub struct TemplateSource {
    pub bytes: Vec<u8>,
    pub encoding: Encoding,
    /// Where it came from (a URL), or "byte stream".
    pub source: String,
}

#[derive(Debug, Clone)]
pub struct ApplyInput {
    pub org: Id,
    pub stack: Option<Id>,
    pub dry_run: bool,
    pub templates: Vec<TemplateSource>,
    pub env_refs: HashMap<String, Value>,
    pub skips: Skips,
}

/// How an apply ended: the answer's body, and whether anything was made.
#[derive(Debug)]
pub enum ApplyOutcome {
    DryRun(ApplyReport),
    Applied(ApplyReport),
    /// Validation failed; nothing was changed.
    Invalid(ApplyReport),
}

/// A metadata name for an exported or adopted resource, as pkger makes
/// them (`adjective-surname-` and six hex digits), unique among `taken`.
pub fn unique_meta_name(seed: Id, taken: &HashSet<String>) -> String {
    const ADJECTIVES: &[&str] = &[
        "amazing", "bold", "brave", "calm", "clever", "eager", "elegant", "fervent", "gifted",
        "happy", "jolly", "keen", "lucid", "modest", "nifty", "quirky", "serene", "sharp", "stoic",
        "vibrant", "wizardly", "zealous",
    ];
    const NAMES: &[&str] = &[
        "babbage", "bohr", "curie", "darwin", "euler", "faraday", "gauss", "hopper", "kepler",
        "lovelace", "maxwell", "newton", "noether", "pascal", "ritchie", "shannon", "tesla",
        "turing", "wozniak", "yalow",
    ];
    let mut rng = rand::thread_rng();
    let hex = format!("{:016x}", seed.get() ^ rng.gen::<u64>());
    for _ in 0..250 {
        let name = format!(
            "{}-{}-{}",
            ADJECTIVES[rng.gen_range(0..ADJECTIVES.len())],
            NAMES[rng.gen_range(0..NAMES.len())],
            &hex[10..]
        );
        if !taken.contains(&name) {
            return name;
        }
    }
    hex
}

fn no_such_org(org: Id) -> Error {
    Error::conflict(format!(
        "organization dependency does not exist for id[{:?}]",
        org.to_string()
    ))
}

/// Decodes and graphs every template of a request.
fn read_templates(input: &ApplyInput) -> Result<(Graph, Vec<String>)> {
    let mut objects: Vec<Value> = Vec::new();
    let mut legacy = Vec::new();
    let mut sources = Vec::new();
    for (i, t) in input.templates.iter().enumerate() {
        let decoded = decode(&t.bytes, t.encoding).map_err(|e| {
            Error::invalid(format!(
                "template[{i}] from source(s) {:?} had an issue: {e}",
                t.source
            ))
        })?;
        sources.push(t.source.clone());
        for d in decoded {
            match d {
                Decoded::Objects(o) => objects.extend(o),
                Decoded::Legacy(v) => legacy.push(v),
            }
        }
    }
    let mut g = graph(&objects, &input.env_refs);
    for (n, doc) in legacy.iter().enumerate() {
        let l = legacy::graph_legacy(doc, objects.len() + n);
        g.labels.extend(l.labels);
        g.variables.extend(l.variables);
        g.dashboards.extend(l.dashboards);
        g.errors.extend(l.errors);
    }
    if g.is_empty() && g.errors.is_empty() && input.stack.is_none() {
        g.errors.push(parse::no_resources_error());
    }
    Ok((g, sources))
}

fn report(
    plan: &Plan,
    sources: Vec<String>,
    stack: Option<Id>,
    errors: Vec<ValidationErr>,
) -> ApplyReport {
    ApplyReport {
        sources,
        stack_id: stack.map(|s| s.to_string()).unwrap_or_default(),
        diff: plan.diff(),
        summary: plan.summary(),
        errors,
        failure: None,
    }
}

fn load_stack_for(store: &dyn StoreRead, id: Id, org: Id) -> Result<Stack> {
    let st = stack::load(store, id)?;
    if st.org_id != org {
        return Err(Error::conflict("you do not have access to given stack ID"));
    }
    Ok(st)
}

impl Service {
    /// `POST /api/v2/templates/apply`: a dry run reads; an apply makes every
    /// change (and the stack record) in one atomic write.
    pub fn apply_template(&self, actor: &Actor, input: ApplyInput) -> Result<ApplyOutcome> {
        let (g, sources) = read_templates(&input)?;
        let errors = flatten(&g.errors);
        let org = input.org;
        if !errors.is_empty() || input.dry_run {
            let plan = self.read(|store| {
                if store.org(org)?.is_none() {
                    return Err(no_such_org(org));
                }
                let stack = match input.stack {
                    Some(id) => Some(load_stack_for(store, id, org)?),
                    None => None,
                };
                let plan = Plan::build(store, org, &g, stack.as_ref(), &input.skips)?;
                plan.require(actor, Action::Read)?;
                Ok(plan)
            })?;
            if errors.is_empty() {
                return Ok(ApplyOutcome::DryRun(report(
                    &plan,
                    sources,
                    input.stack,
                    errors,
                )));
            }
            let mut r = report(&plan, sources, input.stack, errors);
            let mut failure = Map::new();
            failure.insert("code".into(), "unprocessable entity".into());
            let lines: Vec<String> = r.errors.iter().map(ValidationErr::line).collect();
            failure.insert(
                "message".into(),
                format!("unprocessable entity: {}", lines.join("\n\t")).into(),
            );
            r.failure = Some(failure);
            return Ok(ApplyOutcome::Invalid(r));
        }
        for s in &g.skipped {
            if !input.skips.kinds.contains(&s.kind.family()) {
                log::warn!(
                    "template apply to org {org}: {} {:?} not created; Tessera does not run {} resources",
                    s.kind.as_str(),
                    s.meta,
                    s.kind.as_str()
                );
            }
        }
        self.write(|store| {
            if store.org(org)?.is_none() {
                return Err(no_such_org(org));
            }
            let existing = match input.stack {
                Some(id) => Some(load_stack_for(store, id, org)?),
                None => None,
            };
            let mut plan = Plan::build(store, org, &g, existing.as_ref(), &input.skips)?;
            plan.require(actor, Action::Write)?;
            let mut changes = plan.changes(store, actor.user_id)?;
            let mut st = match existing {
                Some(st) => st,
                None => Stack::new(
                    store.new_id(),
                    org,
                    String::new(),
                    String::new(),
                    Vec::new(),
                ),
            };
            let resources = plan.stack_resources();
            let event_sources = sources.clone();
            st.push_event(EventType::Update, |ev| {
                ev.resources = resources;
                ev.sources = event_sources;
            });
            let id = st.id;
            changes.push(Change::PutStack(st));
            Ok((
                ApplyOutcome::Applied(report(&plan, sources, Some(id), Vec::new())),
                changes,
            ))
        })
    }

    /// Removes what a stack created; `delete` also drops the stack record
    /// (and a missing stack is then not an error).
    pub fn uninstall_stack(
        &self,
        actor: &Actor,
        org: Id,
        id: Id,
        delete: bool,
    ) -> Result<Option<Stack>> {
        require_org(actor, org, Action::Write)?;
        self.write(|store| {
            let mut st = match store.stack(id)? {
                Some(st) => st,
                None if delete => return Ok((None, Vec::new())),
                None => return Err(Error::not_found(stack::ERR_STACK_NOT_FOUND)),
            };
            if st.org_id != org {
                return Err(Error::conflict("you do not have access to given stack ID"));
            }
            if store.org(org)?.is_none() {
                return Err(Error::not_found(ERR_ORG_NOT_FOUND));
            }
            let mut plan =
                Plan::build(store, org, &Graph::default(), Some(&st), &Skips::default())?;
            plan.require(actor, Action::Write)?;
            let mut changes = plan.changes(store, actor.user_id)?;
            if delete {
                changes.push(Change::DeleteStack { id, org });
                return Ok((None, changes));
            }
            st.push_event(EventType::Uninstall, |ev| ev.resources = Vec::new());
            changes.push(Change::PutStack(st.clone()));
            Ok((Some(st), changes))
        })
    }
}
