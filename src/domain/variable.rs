//! Variables: named values (a constant list, a map, or a query's results)
//! that dashboard queries refer to as `v.name`, as InfluxDB 2.x keeps them
//! (`variable.go`, `kv/variable.go`).

use super::time::Timestamp;
use crate::error::{Error, Result};
use crate::id::Id;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

pub const ERR_VARIABLE_NOT_FOUND: &str = "variable not found";

/// Flux keywords a variable may not be named after (`Variable.Valid`).
const PROTECTED_NAMES: [&str; 11] = [
    "and", "import", "not", "return", "option", "test", "empty", "in", "or", "package", "builtin",
];

/// Longest variable name we accept; InfluxDB sets none, but the name is an index key.
pub const MAX_VARIABLE_NAME_LEN: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Variable {
    pub id: Id,
    #[serde(rename = "orgID")]
    pub org_id: Id,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// `None` is Go's nil slice, sent as `null`.
    #[serde(default)]
    pub selected: Option<Vec<String>>,
    pub arguments: Arguments,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

/// `{"type": "query"|"constant"|"map", "values": …}` on the wire and on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "values", rename_all = "lowercase")]
pub enum Arguments {
    Query(QueryValues),
    Constant(Vec<String>),
    Map(BTreeMap<String, String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryValues {
    pub query: String,
    pub language: String,
}

impl Arguments {
    /// Decodes arguments with InfluxDB's messages (`VariableArguments.UnmarshalJSON`).
    pub fn parse(v: &Value) -> Result<Arguments> {
        let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
        let values = v.get("values").unwrap_or(&Value::Null);
        let string = |x: &Value, what: &str| -> Result<String> {
            x.as_str().map(str::to_string).ok_or_else(|| {
                Error::invalid(format!(
                    "expected {what} to be string but received {}",
                    go_type(x)
                ))
            })
        };
        match kind {
            "constant" => {
                let list = values.as_array().ok_or_else(|| {
                    Error::invalid(format!(
                        "error parsing {values} as VariableConstantArguments"
                    ))
                })?;
                list.iter()
                    .map(|x| string(x, "variable constant value"))
                    .collect::<Result<_>>()
                    .map(Arguments::Constant)
            }
            "map" => {
                let map = values.as_object().ok_or_else(|| {
                    Error::invalid(format!("error parsing {values} as VariableMapArguments"))
                })?;
                map.iter()
                    .map(|(k, x)| Ok((k.clone(), string(x, "variable map value")?)))
                    .collect::<Result<_>>()
                    .map(Arguments::Map)
            }
            "query" => {
                let map = values.as_object().ok_or_else(|| {
                    Error::invalid(format!("error parsing {values} as VariableQueryArguments"))
                })?;
                let field = |name: &str| -> Result<String> {
                    let x = map.get(name).ok_or_else(|| {
                        Error::invalid(format!(
                            "\"{name}\" key not present in VariableQueryArguments"
                        ))
                    })?;
                    string(x, &format!("\"{name}\""))
                };
                Ok(Arguments::Query(QueryValues {
                    query: field("query")?,
                    language: field("language")?,
                }))
            }
            "" => Err(Error::invalid("invalid arguments type")),
            other => Err(Error::invalid(format!(
                "unknown VariableArguments type {other}"
            ))),
        }
    }
}

/// The name Go's `%T` prints for a decoded JSON value.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(_) => "float64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// A variable name as InfluxDB checks it (`Variable.Valid`), trimmed first.
pub fn check_variable_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("missing variable name"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return Err(Error::invalid("variable name must start with a letter"));
    }
    if PROTECTED_NAMES.contains(&name) {
        return Err(Error::invalid(format!(
            "{name:?} is a protected variable name"
        )));
    }
    if name.len() > MAX_VARIABLE_NAME_LEN {
        return Err(Error::invalid(format!(
            "variable name must be at most {MAX_VARIABLE_NAME_LEN} bytes"
        )));
    }
    Ok(name.to_string())
}

/// `POST /api/v2/variables` and `PUT /api/v2/variables/{id}`: a whole
/// variable. Fields the Influx UI adds (`labels`, `links`, `status`,
/// `sort_order`) are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct VariableInput {
    #[serde(rename = "orgID", default)]
    pub org_id: Option<Id>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub selected: Option<Vec<String>>,
    #[serde(default)]
    pub arguments: Option<Value>,
}

/// A checked `VariableInput`.
#[derive(Debug, Clone)]
pub struct NewVariable {
    pub org_id: Option<Id>,
    pub name: String,
    pub description: String,
    pub selected: Option<Vec<String>>,
    pub arguments: Arguments,
}

impl VariableInput {
    /// Checks in InfluxDB's order: name, then arguments, then protected names.
    pub fn check(self) -> Result<NewVariable> {
        let raw = self.name.unwrap_or_default();
        if raw.trim().is_empty() {
            return Err(Error::invalid("missing variable name"));
        }
        if !raw
            .trim()
            .starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        {
            return Err(Error::invalid("variable name must start with a letter"));
        }
        let arguments = match &self.arguments {
            None | Some(Value::Null) => return Err(Error::invalid("invalid arguments type")),
            Some(v) => Arguments::parse(v)?,
        };
        Ok(NewVariable {
            org_id: self.org_id,
            name: check_variable_name(&raw)?,
            description: self.description.unwrap_or_default(),
            selected: self.selected,
            arguments,
        })
    }
}

/// `PATCH /api/v2/variables/{id}` (`VariableUpdate`): empty name and
/// description, null selected and arguments keep what is stored.
#[derive(Debug, Default, Deserialize)]
pub struct PatchVariable {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub selected: Option<Vec<String>>,
    #[serde(default)]
    pub arguments: Option<Value>,
}

/// A checked `PatchVariable`.
struct VariableUpdate {
    name: Option<String>,
    description: Option<String>,
    selected: Option<Vec<String>>,
    arguments: Option<Arguments>,
}

impl PatchVariable {
    fn check(self) -> Result<VariableUpdate> {
        let name = self.name.filter(|n| !n.trim().is_empty());
        let description = self.description.filter(|d| !d.is_empty());
        let arguments = match &self.arguments {
            None | Some(Value::Null) => None,
            Some(v) => Some(Arguments::parse(v)?),
        };
        if name.is_none() && description.is_none() && self.selected.is_none() && arguments.is_none()
        {
            return Err(Error::invalid("no fields supplied in update"));
        }
        Ok(VariableUpdate {
            name: name.map(|n| check_variable_name(&n)).transpose()?,
            description,
            selected: self.selected,
            arguments,
        })
    }
}

/// Which variables `GET /api/v2/variables` lists.
#[derive(Debug, Clone, Default)]
pub struct VariableFilter {
    pub org_id: Option<Id>,
    /// An org name (`org`), used when `org_id` is absent.
    pub org: Option<String>,
    pub id: Option<Id>,
}

/// Runs of kv's `findVariables`: paged by the find options only when no org
/// is named; an org's variables come whole.
fn page<T>(items: Vec<T>, filter: &VariableFilter, opts: &FindOptions) -> Vec<T> {
    if filter.org_id.is_some() || filter.org.is_some() {
        return items;
    }
    let iter: Box<dyn Iterator<Item = T>> = if opts.descending {
        Box::new(items.into_iter().rev())
    } else {
        Box::new(items.into_iter())
    };
    iter.skip(opts.offset).take(opts.limit).collect()
}

// ---- rules ---------------------------------------------------------------

use super::label;
use super::org::ERR_ORG_NOT_FOUND;
use super::paging::FindOptions;
use super::Service;
use crate::auth::permission::{Action, Actor};
use crate::domain::label::Label;
use crate::store::{Change, Store};

pub const VARIABLES: &str = "variables";

pub(super) fn load(store: &dyn Store, id: Id) -> Result<Variable> {
    store
        .variable(id)?
        .ok_or_else(|| Error::not_found(ERR_VARIABLE_NOT_FOUND))
}

/// Loads a variable the actor may act on: 404 first, then the right.
pub(super) fn load_for(
    store: &dyn Store,
    actor: &Actor,
    id: Id,
    action: Action,
) -> Result<Variable> {
    let v = load(store, id)?;
    actor.require(action, VARIABLES, Some(v.org_id), Some(v.id))?;
    Ok(v)
}

/// Names are unique per org without case (kv's `EncStringCaseInsensitive` index).
fn check_name_free(store: &dyn Store, org: Id, name: &str, except: Option<Id>) -> Result<()> {
    match store.variable_by_name(org, name)? {
        Some(other) if Some(other.id) != except => Err(Error::conflict(format!(
            "variable is not unique for key {org}/{}",
            name.to_lowercase()
        ))),
        _ => Ok(()),
    }
}

/// A variable with the labels the actor may read on it.
#[derive(Debug, Clone)]
pub struct VariableWithLabels {
    pub variable: Variable,
    pub labels: Vec<Label>,
}

impl Service {
    pub fn create_variable(&self, actor: &Actor, req: VariableInput) -> Result<Variable> {
        let new = req.check()?;
        let org_id = new
            .org_id
            .ok_or_else(|| Error::invalid("orgID is required"))?;
        actor.require(Action::Write, VARIABLES, Some(org_id), None)?;
        self.write(|store| {
            if store.org(org_id)?.is_none() {
                return Err(Error::not_found(ERR_ORG_NOT_FOUND));
            }
            check_name_free(store, org_id, &new.name, None)?;
            let now = Timestamp::now();
            let variable = Variable {
                id: store.new_id(),
                org_id,
                name: new.name,
                description: new.description,
                selected: new.selected,
                arguments: new.arguments,
                created_at: now,
                updated_at: now,
            };
            let change = Change::PutVariable {
                variable: variable.clone(),
                previous_name: None,
            };
            Ok((variable, vec![change]))
        })
    }

    pub fn variable(&self, actor: &Actor, id: Id) -> Result<VariableWithLabels> {
        self.read(|store| {
            let variable = load_for(store, actor, id, Action::Read)?;
            let labels = label::labels_in(store, actor, id)?;
            Ok(VariableWithLabels { variable, labels })
        })
    }

    /// The variables the actor may read, in ID order, with their labels.
    pub fn list_variables(
        &self,
        actor: &Actor,
        filter: VariableFilter,
        opts: &FindOptions,
    ) -> Result<Vec<VariableWithLabels>> {
        self.read(|store| {
            let org = match (filter.org_id, &filter.org) {
                (Some(id), _) => Some(id),
                (None, Some(name)) => Some(
                    store
                        .org_by_name(name)?
                        .ok_or_else(|| Error::not_found(ERR_ORG_NOT_FOUND))?
                        .id,
                ),
                (None, None) => None,
            };
            let mut seen = Default::default();
            let found: Vec<Variable> = store
                .variables(org)?
                .into_iter()
                .filter(|v| filter.id.is_none_or(|id| v.id == id))
                .collect();
            page(found, &filter, opts)
                .into_iter()
                .filter(|v| actor.can(Action::Read, VARIABLES, Some(v.org_id), Some(v.id)))
                .map(|variable| {
                    let labels = label::readable_labels_of(store, actor, variable.id, &mut seen)?;
                    Ok(VariableWithLabels { variable, labels })
                })
                .collect()
        })
    }

    pub fn update_variable(
        &self,
        actor: &Actor,
        id: Id,
        patch: PatchVariable,
    ) -> Result<VariableWithLabels> {
        let upd = patch.check()?;
        self.write(|store| {
            let mut v = load_for(store, actor, id, Action::Write)?;
            let previous_name = v.name.clone();
            if let Some(name) = upd.name {
                check_name_free(store, v.org_id, &name, Some(id))?;
                v.name = name;
            }
            if let Some(d) = upd.description {
                v.description = d;
            }
            if let Some(s) = upd.selected {
                v.selected = Some(s);
            }
            if let Some(a) = upd.arguments {
                v.arguments = a;
            }
            v.updated_at = Timestamp::now_after(v.updated_at);
            let labels = label::labels_in(store, actor, id)?;
            let change = Change::PutVariable {
                variable: v.clone(),
                previous_name: Some(previous_name),
            };
            Ok((
                VariableWithLabels {
                    variable: v,
                    labels,
                },
                vec![change],
            ))
        })
    }

    /// `PUT`: replaces name, description, selected and arguments; the org and
    /// `createdAt` stay.
    pub fn replace_variable(
        &self,
        actor: &Actor,
        id: Id,
        req: VariableInput,
    ) -> Result<VariableWithLabels> {
        let new = req.check()?;
        self.write(|store| {
            let old = load_for(store, actor, id, Action::Write)?;
            check_name_free(store, old.org_id, &new.name, Some(id))?;
            let v = Variable {
                id,
                org_id: old.org_id,
                name: new.name,
                description: new.description,
                selected: new.selected,
                arguments: new.arguments,
                created_at: old.created_at,
                updated_at: Timestamp::now_after(old.updated_at),
            };
            let labels = label::labels_in(store, actor, id)?;
            let change = Change::PutVariable {
                variable: v.clone(),
                previous_name: Some(old.name),
            };
            Ok((
                VariableWithLabels {
                    variable: v,
                    labels,
                },
                vec![change],
            ))
        })
    }

    /// Deletes the variable and takes its labels off it.
    pub fn delete_variable(&self, actor: &Actor, id: Id) -> Result<()> {
        self.write(|store| {
            let v = load_for(store, actor, id, Action::Write)?;
            Ok((
                (),
                vec![Change::DeleteVariable {
                    id,
                    org: v.org_id,
                    name: v.name,
                }],
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(v: Value) -> Result<NewVariable> {
        serde_json::from_value::<VariableInput>(v)
            .expect("decodes")
            .check()
    }

    #[test]
    fn validation_messages_as_influx() {
        let args = json!({"type": "constant", "values": ["a"]});
        let msg = |v| input(v).unwrap_err().message;
        assert_eq!(msg(json!({"arguments": args})), "missing variable name");
        assert_eq!(
            msg(json!({"name": "1x", "arguments": args})),
            "variable name must start with a letter"
        );
        assert_eq!(msg(json!({"name": "x"})), "invalid arguments type");
        assert_eq!(
            msg(json!({"name": "in", "arguments": args})),
            "\"in\" is a protected variable name"
        );
        assert_eq!(
            msg(json!({"name": "x", "arguments": {"type": "list", "values": []}})),
            "unknown VariableArguments type list"
        );
        assert_eq!(
            msg(json!({"name": "x", "arguments": {"type": "constant", "values": [1]}})),
            "expected variable constant value to be string but received float64"
        );
        assert_eq!(
            msg(json!({"name": "x", "arguments": {"type": "query", "values": {"query": "q"}}})),
            "\"language\" key not present in VariableQueryArguments"
        );
    }

    #[test]
    fn arguments_round_trip_in_influx_shape() {
        for v in [
            json!({"type": "constant", "values": ["a", "b"]}),
            json!({"type": "map", "values": {"k": "v"}}),
            json!({"type": "query", "values": {"query": "buckets()", "language": "flux"}}),
        ] {
            let a = Arguments::parse(&v).expect("parses");
            assert_eq!(serde_json::to_value(&a).expect("encodes"), v);
        }
    }
}
