//! The JSON pkger answers with: `summary`, `diff` and their parts, field for
//! field. Resource IDs here are pkger's `SafeID`: JSON numbers, 0 for a
//! resource not created yet.

use super::errors::ValidationErr;
use serde::Serialize;
use serde_json::{Map, Value};

#[derive(Debug, Clone, Serialize)]
pub struct EnvReference {
    #[serde(rename = "resourceField")]
    pub field: String,
    #[serde(rename = "envRefKey")]
    pub key: String,
    #[serde(rename = "valueType")]
    pub value_type: String,
    pub value: Option<Value>,
    #[serde(rename = "defaultValue")]
    pub default_value: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LabelProperties {
    pub color: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SummaryLabel {
    pub kind: &'static str,
    #[serde(rename = "templateMetaName")]
    pub meta_name: String,
    #[serde(rename = "envReferences")]
    pub env_references: Vec<EnvReference>,
    pub id: u64,
    #[serde(rename = "orgID")]
    pub org_id: u64,
    pub name: String,
    pub properties: LabelProperties,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Debug, Clone, Serialize)]
pub struct SummaryBucket {
    pub kind: &'static str,
    #[serde(rename = "templateMetaName")]
    pub meta_name: String,
    #[serde(rename = "envReferences")]
    pub env_references: Vec<EnvReference>,
    #[serde(skip_serializing_if = "is_zero")]
    pub id: u64,
    #[serde(rename = "orgID", skip_serializing_if = "is_zero")]
    pub org_id: u64,
    pub name: String,
    pub description: String,
    /// Nanoseconds (a Go `time.Duration`).
    #[serde(rename = "retentionPeriod")]
    pub retention_period: i64,
    #[serde(rename = "labelAssociations")]
    pub label_associations: Vec<SummaryLabel>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SummaryChart {
    pub properties: Value,
    #[serde(rename = "xPos")]
    pub x_pos: i64,
    #[serde(rename = "yPos")]
    pub y_pos: i64,
    pub height: i64,
    pub width: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SummaryDashboard {
    pub kind: &'static str,
    #[serde(rename = "templateMetaName")]
    pub meta_name: String,
    #[serde(rename = "envReferences")]
    pub env_references: Vec<EnvReference>,
    pub id: u64,
    #[serde(rename = "orgID")]
    pub org_id: u64,
    pub name: String,
    pub description: String,
    pub charts: Option<Vec<SummaryChart>>,
    #[serde(rename = "labelAssociations")]
    pub label_associations: Vec<SummaryLabel>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SummaryVariable {
    pub kind: &'static str,
    #[serde(rename = "templateMetaName")]
    pub meta_name: String,
    #[serde(rename = "envReferences")]
    pub env_references: Vec<EnvReference>,
    #[serde(skip_serializing_if = "is_zero")]
    pub id: u64,
    #[serde(rename = "orgID", skip_serializing_if = "is_zero")]
    pub org_id: u64,
    pub name: String,
    pub description: String,
    /// pkger's spelling for `selected`.
    pub variables: Vec<String>,
    pub arguments: Option<Value>,
    #[serde(rename = "labelAssociations")]
    pub label_associations: Vec<SummaryLabel>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SummaryLabelMapping {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(rename = "resourceID")]
    pub resource_id: u64,
    #[serde(rename = "resourceTemplateMetaName")]
    pub resource_meta_name: String,
    #[serde(rename = "resourceName")]
    pub resource_name: String,
    #[serde(rename = "resourceType")]
    pub resource_type: &'static str,
    #[serde(rename = "labelTemplateMetaName")]
    pub label_meta_name: String,
    #[serde(rename = "labelName")]
    pub label_name: String,
    #[serde(rename = "labelID")]
    pub label_id: u64,
}

/// A template object Tessera does not run, reported instead of created.
#[derive(Debug, Clone, Serialize)]
pub struct SkippedResource {
    pub kind: String,
    #[serde(rename = "templateMetaName")]
    pub meta_name: String,
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub buckets: Vec<SummaryBucket>,
    pub checks: Vec<Value>,
    pub dashboards: Vec<SummaryDashboard>,
    #[serde(rename = "notificationEndpoints")]
    pub notification_endpoints: Vec<Value>,
    #[serde(rename = "notificationRules")]
    pub notification_rules: Vec<Value>,
    pub labels: Vec<SummaryLabel>,
    #[serde(rename = "labelMappings")]
    pub label_mappings: Vec<SummaryLabelMapping>,
    #[serde(rename = "missingEnvRefs")]
    pub missing_env_refs: Vec<String>,
    #[serde(rename = "missingSecrets")]
    pub missing_secrets: Vec<String>,
    #[serde(rename = "summaryTask")]
    pub tasks: Vec<Value>,
    #[serde(rename = "telegrafConfigs")]
    pub telegraf_configs: Vec<Value>,
    pub variables: Vec<SummaryVariable>,
    /// Tessera's addition: template objects of kinds it does not run.
    #[serde(rename = "skippedResources")]
    pub skipped_resources: Vec<SkippedResource>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffIdentifier {
    pub id: u64,
    #[serde(rename = "stateStatus")]
    pub state_status: &'static str,
    #[serde(rename = "templateMetaName")]
    pub meta_name: String,
    pub kind: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RetentionRule {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "everySeconds")]
    pub every_seconds: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffBucketValues {
    pub name: String,
    pub description: String,
    #[serde(rename = "retentionRules")]
    pub retention_rules: Option<Vec<RetentionRule>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffBucket {
    #[serde(flatten)]
    pub ident: DiffIdentifier,
    pub new: DiffBucketValues,
    pub old: Option<DiffBucketValues>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffDashboardValues {
    pub name: String,
    pub description: String,
    pub charts: Vec<SummaryChart>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffDashboard {
    #[serde(flatten)]
    pub ident: DiffIdentifier,
    pub new: DiffDashboardValues,
    pub old: Option<DiffDashboardValues>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiffLabelValues {
    pub name: String,
    pub color: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffLabel {
    #[serde(flatten)]
    pub ident: DiffIdentifier,
    pub new: DiffLabelValues,
    pub old: Option<DiffLabelValues>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffLabelMapping {
    #[serde(rename = "stateStatus")]
    pub state_status: &'static str,
    #[serde(rename = "resourceType")]
    pub resource_type: &'static str,
    #[serde(rename = "resourceID")]
    pub resource_id: u64,
    #[serde(rename = "resourceName")]
    pub resource_name: String,
    #[serde(rename = "resourceTemplateMetaName")]
    pub resource_meta_name: String,
    #[serde(rename = "labelID")]
    pub label_id: u64,
    #[serde(rename = "labelName")]
    pub label_name: String,
    #[serde(rename = "labelTemplateMetaName")]
    pub label_meta_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffVariableValues {
    pub name: String,
    pub description: String,
    pub args: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DiffVariable {
    #[serde(flatten)]
    pub ident: DiffIdentifier,
    pub new: DiffVariableValues,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<DiffVariableValues>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Diff {
    pub buckets: Vec<DiffBucket>,
    pub checks: Vec<Value>,
    pub dashboards: Vec<DiffDashboard>,
    pub labels: Vec<DiffLabel>,
    #[serde(rename = "labelMappings")]
    pub label_mappings: Vec<DiffLabelMapping>,
    #[serde(rename = "notificationEndpoints")]
    pub notification_endpoints: Vec<Value>,
    #[serde(rename = "notificationRules")]
    pub notification_rules: Vec<Value>,
    pub tasks: Vec<Value>,
    #[serde(rename = "telegrafConfigs")]
    pub telegraf_configs: Vec<Value>,
    pub variables: Vec<DiffVariable>,
}

/// `RespApply`; with `code`/`message` added when validation failed.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyReport {
    pub sources: Vec<String>,
    #[serde(rename = "stackID")]
    pub stack_id: String,
    pub diff: Diff,
    pub summary: Summary,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ValidationErr>,
    #[serde(flatten)]
    pub failure: Option<Map<String, Value>>,
}
