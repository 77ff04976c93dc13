//! Dashboard charts: a template's chart spec, the view properties it becomes
//! (pkger's `parseChart` and `chart.properties()`, JSON in the field order
//! of InfluxDB's `*ViewProperties` structs), and the way back from stored
//! view properties to a chart spec (`convertCellView`,
//! `convertChartToResource`).

use super::errors::VErr;
use super::resource::{go_float, sorted, value_str, Fields, Resource};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    Gauge,
    Geo,
    Heatmap,
    Histogram,
    Markdown,
    Mosaic,
    Scatter,
    SingleStat,
    SingleStatPlusLine,
    Table,
    Xy,
    Band,
}

impl ChartKind {
    pub fn parse(s: &str) -> Option<ChartKind> {
        Some(match s.trim().to_lowercase().as_str() {
            "gauge" => ChartKind::Gauge,
            "geo" => ChartKind::Geo,
            "heatmap" => ChartKind::Heatmap,
            "histogram" => ChartKind::Histogram,
            "markdown" => ChartKind::Markdown,
            "mosaic" => ChartKind::Mosaic,
            "scatter" => ChartKind::Scatter,
            "single_stat" => ChartKind::SingleStat,
            "single_stat_plus_line" => ChartKind::SingleStatPlusLine,
            "table" => ChartKind::Table,
            "xy" => ChartKind::Xy,
            "band" => ChartKind::Band,
            _ => return None,
        })
    }

    /// The view properties `type` this kind becomes.
    fn view_type(self) -> &'static str {
        match self {
            ChartKind::Gauge => "gauge",
            ChartKind::Geo => "geo",
            ChartKind::Heatmap => "heatmap",
            ChartKind::Histogram => "histogram",
            ChartKind::Markdown => "markdown",
            ChartKind::Mosaic => "mosaic",
            ChartKind::Scatter => "scatter",
            ChartKind::SingleStat => "single-stat",
            ChartKind::SingleStatPlusLine => "line-plus-single-stat",
            ChartKind::Table => "table",
            ChartKind::Xy => "xy",
            ChartKind::Band => "band",
        }
    }

    fn from_view_type(t: &str) -> Option<ChartKind> {
        Some(match t {
            "gauge" => ChartKind::Gauge,
            "geo" => ChartKind::Geo,
            "heatmap" => ChartKind::Heatmap,
            "histogram" => ChartKind::Histogram,
            "markdown" => ChartKind::Markdown,
            "mosaic" => ChartKind::Mosaic,
            "scatter" => ChartKind::Scatter,
            "single-stat" => ChartKind::SingleStat,
            "line-plus-single-stat" => ChartKind::SingleStatPlusLine,
            "table" => ChartKind::Table,
            "xy" => ChartKind::Xy,
            "band" => ChartKind::Band,
            _ => return None,
        })
    }

    /// The spelling an export writes (`Single_Stat_Plus_Line`, `Xy`).
    fn title(self) -> String {
        let snake = match self {
            ChartKind::SingleStat => "single_stat",
            ChartKind::SingleStatPlusLine => "single_stat_plus_line",
            other => other.view_type(),
        };
        snake
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                match c.next() {
                    Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
                    None => String::new(),
                }
            })
            .collect::<Vec<_>>()
            .join("_")
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Color {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub hex: String,
    pub value: Option<f64>,
}

impl Color {
    fn parse(r: &Resource) -> Color {
        let v = r.float_or_zero("value");
        Color {
            id: r.str_or_empty("id"),
            name: r.name_field(),
            kind: r.str_or_empty("type"),
            hex: r.str_or_empty("hex"),
            value: (v != 0.0).then_some(v),
        }
    }

    fn view_json(&self) -> Value {
        json!({"id": self.id, "type": self.kind, "hex": self.hex, "name": self.name,
               "value": go_float(self.value.unwrap_or(0.0))})
    }

    fn template_json(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in [
            ("id", &self.id),
            ("name", &self.name),
            ("type", &self.kind),
            ("hex", &self.hex),
        ] {
            if !v.is_empty() {
                m.insert(k.into(), Value::String(v.clone()));
            }
        }
        if let Some(v) = self.value {
            m.insert("value".into(), go_float(v));
        }
        Value::Object(m)
    }

    fn from_view(v: &Value) -> Color {
        let empty = Map::new();
        let o = v.as_object().unwrap_or(&empty);
        let value = o.float_or_zero("value");
        Color {
            id: o.str_or_empty("id"),
            name: o.str_or_empty("name"),
            kind: o.str_or_empty("type"),
            hex: o.str_or_empty("hex"),
            value: (value != 0.0).then_some(value),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Axis {
    pub base: String,
    pub label: String,
    pub name: String,
    pub prefix: String,
    pub scale: String,
    pub suffix: String,
    pub domain: Option<Vec<f64>>,
}

impl Axis {
    fn parse(r: &Resource) -> Axis {
        Axis {
            base: r.str_or_empty("base"),
            label: r.str_or_empty("label"),
            name: r.name_field(),
            prefix: r.str_or_empty("prefix"),
            scale: r.str_or_empty("scale"),
            suffix: r.str_or_empty("suffix"),
            domain: None,
        }
    }

    /// InfluxDB's `Axis`; geo layer dimensions carry `bounds: null`.
    fn view_json(&self, nil_bounds: bool) -> Value {
        json!({"bounds": if nil_bounds { Value::Null } else { json!([]) },
               "label": self.label, "prefix": self.prefix, "suffix": self.suffix,
               "base": self.base, "scale": self.scale})
    }

    fn template_json(&self) -> Value {
        let mut m = Map::new();
        for (k, v) in [
            ("base", &self.base),
            ("label", &self.label),
            ("name", &self.name),
            ("prefix", &self.prefix),
            ("scale", &self.scale),
            ("suffix", &self.suffix),
        ] {
            if !v.is_empty() {
                m.insert(k.into(), Value::String(v.clone()));
            }
        }
        if let Some(d) = self.domain.as_ref().filter(|d| !d.is_empty()) {
            m.insert("domain".into(), d.iter().map(|f| go_float(*f)).collect());
        }
        Value::Object(m)
    }

    fn from_view(name: &str, v: Option<&Value>) -> Axis {
        let empty = Map::new();
        let o = v.and_then(Value::as_object).unwrap_or(&empty);
        Axis {
            base: o.str_or_empty("base"),
            label: o.str_or_empty("label"),
            name: name.to_string(),
            prefix: o.str_or_empty("prefix"),
            scale: o.str_or_empty("scale"),
            suffix: o.str_or_empty("suffix"),
            domain: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct StaticLegend {
    pub colorize_rows: bool,
    pub height_ratio: f64,
    pub show: bool,
    pub opacity: f64,
    pub orientation_threshold: i64,
    pub value_axis: String,
    pub width_ratio: f64,
}

impl StaticLegend {
    fn parse(r: &Resource) -> StaticLegend {
        StaticLegend {
            colorize_rows: r.bool_or_false("colorizeRows"),
            height_ratio: r.float_or_zero("heightRatio"),
            show: r.bool_or_false("show"),
            opacity: r.float_or_zero("opacity"),
            orientation_threshold: r.int_or_zero("orientationThreshold"),
            value_axis: r.str_or_empty("valueAxis"),
            width_ratio: r.float_or_zero("widthRatio"),
        }
    }

    /// Every field is `omitempty`.
    fn json(&self) -> Value {
        let mut m = Map::new();
        if self.colorize_rows {
            m.insert("colorizeRows".into(), true.into());
        }
        if self.height_ratio != 0.0 {
            m.insert("heightRatio".into(), go_float(self.height_ratio));
        }
        if self.show {
            m.insert("show".into(), true.into());
        }
        if self.opacity != 0.0 {
            m.insert("opacity".into(), go_float(self.opacity));
        }
        if self.orientation_threshold != 0 {
            m.insert(
                "orientationThreshold".into(),
                self.orientation_threshold.into(),
            );
        }
        if !self.value_axis.is_empty() {
            m.insert("valueAxis".into(), self.value_axis.clone().into());
        }
        if self.width_ratio != 0.0 {
            m.insert("widthRatio".into(), go_float(self.width_ratio));
        }
        Value::Object(m)
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeoLayer {
    pub kind: String,
    pub radius_field: String,
    pub color_field: String,
    pub intensity_field: String,
    pub view_colors: Vec<Color>,
    pub radius: i64,
    pub blur: i64,
    pub radius_dimension: Option<Axis>,
    pub color_dimension: Option<Axis>,
    pub intensity_dimension: Option<Axis>,
    pub interpolate_colors: bool,
    pub track_width: i64,
    pub speed: i64,
    pub random_colors: bool,
    pub is_clustered: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableOptions {
    pub vertical_time_axis: bool,
    pub sort_by: String,
    pub wrapping: String,
    pub fix_first_column: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldOption {
    pub field_name: String,
    pub display_name: String,
    pub visible: bool,
}

/// Everything pkger keeps of a chart.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    pub kind: ChartKind,
    pub name: String,
    pub prefix: String,
    pub tick_prefix: String,
    pub suffix: String,
    pub tick_suffix: String,
    pub note: String,
    pub note_on_empty: bool,
    pub decimal_places: i64,
    pub enforce_decimals: bool,
    pub shade: bool,
    pub hover_dimension: String,
    pub static_legend: StaticLegend,
    pub colors: Vec<Color>,
    pub queries: Vec<String>,
    pub axes: Vec<Axis>,
    pub geom: String,
    pub y_label_column_separator: String,
    pub y_label_columns: Option<Vec<String>>,
    pub y_series_columns: Option<Vec<String>>,
    pub x_col: String,
    pub y_col: String,
    pub generate_x_axis_ticks: Option<Vec<String>>,
    pub generate_y_axis_ticks: Option<Vec<String>>,
    pub x_total_ticks: i64,
    pub y_total_ticks: i64,
    pub x_tick_start: f64,
    pub y_tick_start: f64,
    pub x_tick_step: f64,
    pub y_tick_step: f64,
    pub upper_column: String,
    pub main_column: String,
    pub lower_column: String,
    pub x_pos: i64,
    pub y_pos: i64,
    pub height: i64,
    pub width: i64,
    pub bin_size: i64,
    pub bin_count: i64,
    pub position: String,
    pub field_options: Vec<FieldOption>,
    pub fill_columns: Option<Vec<String>>,
    pub table_options: TableOptions,
    pub time_format: String,
    pub legend_colorize_rows: bool,
    pub legend_hide: bool,
    pub legend_opacity: f64,
    pub legend_orientation_threshold: i64,
    pub zoom: f64,
    pub center_lat: f64,
    pub center_lon: f64,
    pub map_style: String,
    pub allow_pan_and_zoom: bool,
    pub detect_coordinate_fields: bool,
    pub geo_layers: Vec<GeoLayer>,
}

impl ChartSpec {
    fn empty(kind: ChartKind) -> ChartSpec {
        ChartSpec {
            kind,
            name: String::new(),
            prefix: String::new(),
            tick_prefix: String::new(),
            suffix: String::new(),
            tick_suffix: String::new(),
            note: String::new(),
            note_on_empty: false,
            decimal_places: 0,
            enforce_decimals: false,
            shade: false,
            hover_dimension: String::new(),
            static_legend: StaticLegend::default(),
            colors: Vec::new(),
            queries: Vec::new(),
            axes: Vec::new(),
            geom: String::new(),
            y_label_column_separator: String::new(),
            y_label_columns: None,
            y_series_columns: None,
            x_col: String::new(),
            y_col: String::new(),
            generate_x_axis_ticks: None,
            generate_y_axis_ticks: None,
            x_total_ticks: 0,
            y_total_ticks: 0,
            x_tick_start: 0.0,
            y_tick_start: 0.0,
            x_tick_step: 0.0,
            y_tick_step: 0.0,
            upper_column: String::new(),
            main_column: String::new(),
            lower_column: String::new(),
            x_pos: 0,
            y_pos: 0,
            height: 0,
            width: 0,
            bin_size: 0,
            bin_count: 0,
            position: String::new(),
            field_options: Vec::new(),
            fill_columns: None,
            table_options: TableOptions::default(),
            time_format: String::new(),
            legend_colorize_rows: false,
            legend_hide: false,
            legend_opacity: 0.0,
            legend_orientation_threshold: 0,
            zoom: 0.0,
            center_lat: 0.0,
            center_lon: 0.0,
            map_style: String::new(),
            allow_pan_and_zoom: false,
            detect_coordinate_fields: false,
            geo_layers: Vec::new(),
        }
    }

    /// A template chart, with the validation failures pkger reports for it.
    pub fn parse(r: &Resource) -> Result<ChartSpec, Vec<VErr>> {
        let raw_kind = r.str_or_empty("kind");
        let Some(kind) = ChartKind::parse(&raw_kind) else {
            return Err(vec![VErr::leaf(
                "kind",
                format!(
                    "invalid chart kind provided: {}",
                    raw_kind.trim().to_lowercase()
                ),
            )]);
        };
        let mut c = ChartSpec::empty(kind);
        c.name = r.name_field();
        c.bin_size = r.int_or_zero("binSize");
        c.bin_count = r.int_or_zero("binCount");
        c.geom = r.str_or_empty("geom");
        c.height = r.int_or_zero("height");
        c.note = r.str_or_empty("note");
        c.note_on_empty = r.bool_or_false("noteOnEmpty");
        c.position = r.str_or_empty("position");
        c.prefix = r.str_or_empty("prefix");
        c.shade = r.bool_or_false("shade");
        c.hover_dimension = r.str_or_empty("hoverDimension");
        c.suffix = r.str_or_empty("suffix");
        c.tick_prefix = r.str_or_empty("tickPrefix");
        c.tick_suffix = r.str_or_empty("tickSuffix");
        c.time_format = r.str_or_empty("timeFormat");
        c.width = r.int_or_zero("width");
        c.x_col = r.str_or_empty("xCol");
        c.generate_x_axis_ticks = r.strings("generateXAxisTicks");
        c.x_total_ticks = r.int_or_zero("xTotalTicks");
        c.x_tick_start = r.float_or_zero("xTickStart");
        c.x_tick_step = r.float_or_zero("xTickStep");
        c.y_col = r.str_or_empty("yCol");
        c.generate_y_axis_ticks = r.strings("generateYAxisTicks");
        c.y_total_ticks = r.int_or_zero("yTotalTicks");
        c.y_tick_start = r.float_or_zero("yTickStart");
        c.y_tick_step = r.float_or_zero("yTickStep");
        c.x_pos = r.int_or_zero("xPos");
        c.y_pos = r.int_or_zero("yPos");
        c.fill_columns = r.strings("fillColumns");
        c.y_label_column_separator = r.str_or_empty("yLabelColumnSeparator");
        c.y_label_columns = r.strings("yLabelColumns");
        c.y_series_columns = r.strings("ySeriesColumns");
        c.upper_column = r.str_or_empty("upperColumn");
        c.main_column = r.str_or_empty("mainColumn");
        c.lower_column = r.str_or_empty("lowerColumn");
        c.legend_colorize_rows = r.bool_or_false("legendColorizeRows");
        c.legend_hide = r.bool_or_false("legendHide");
        c.legend_opacity = r.float_or_zero("legendOpacity");
        c.legend_orientation_threshold = r.int_or_zero("legendOrientationThreshold");
        c.zoom = r.float_or_zero("zoom");
        c.center_lat = r.float_or_zero("lat");
        c.center_lon = r.float_or_zero("lon");
        c.map_style = r.str_or_empty("mapStyle");
        c.allow_pan_and_zoom = r.bool_or_false("allowPanAndZoom");
        c.detect_coordinate_fields = r.bool_or_false("detectCoordinateFields");
        if let Some(sl) = r.get("staticLegend").and_then(Value::as_object) {
            c.static_legend = StaticLegend::parse(sl);
        }
        if let Some(dp) = r.int("decimalPlaces") {
            c.enforce_decimals = true;
            c.decimal_places = dp;
        }

        let mut failures = Vec::new();
        let mut query_errs = Vec::new();
        for (i, q) in r.resources("queries").into_iter().enumerate() {
            let source = q.str_or_empty("query");
            if source.is_empty() {
                continue;
            }
            if source.trim().is_empty() {
                query_errs.push(VErr::leaf("query", "invalid query source").at(i));
            }
            c.queries.push(source.trim().to_string());
        }
        if !query_errs.is_empty() {
            failures.push(VErr::nested("queries", query_errs));
        }
        c.colors = r
            .resources("colors")
            .into_iter()
            .map(Color::parse)
            .collect();
        for a in r.resources("axes") {
            let mut axis = Axis::parse(a);
            let mut domain = Vec::new();
            if a.contains_key("domain") {
                for s in a.strings("domain").unwrap_or_default() {
                    match s.trim().parse::<f64>() {
                        Ok(v) => domain.push(v),
                        Err(e) => {
                            failures.push(VErr::leaf(
                                "axes",
                                format!("strconv.ParseFloat: parsing {s:?}: {e}"),
                            ));
                            domain.push(0.0);
                        }
                    }
                }
            }
            axis.domain = Some(domain);
            c.axes.push(axis);
        }
        for l in r.resources("geoLayers") {
            let dim = |key: &str| l.get(key).and_then(Value::as_object).map(Axis::parse);
            c.geo_layers.push(GeoLayer {
                kind: l.str_or_empty("layerType"),
                radius_field: l.str_or_empty("radiusField"),
                color_field: l.str_or_empty("colorField"),
                intensity_field: l.str_or_empty("intensityField"),
                view_colors: l
                    .resources("viewColors")
                    .into_iter()
                    .map(Color::parse)
                    .collect(),
                radius: l.int_or_zero("radius"),
                blur: l.int_or_zero("blur"),
                radius_dimension: dim("radiusDimension"),
                color_dimension: dim("colorDimension"),
                intensity_dimension: dim("intensityDimension"),
                interpolate_colors: l.bool_or_false("interpolateColors"),
                track_width: l.int_or_zero("trackWidth"),
                speed: l.int_or_zero("speed"),
                random_colors: l.bool_or_false("randomColors"),
                is_clustered: l.bool_or_false("isClustered"),
            });
        }
        if let Some(t) = r.get("tableOptions").and_then(Value::as_object) {
            c.table_options = TableOptions {
                vertical_time_axis: t.bool_or_false("verticalTimeAxis"),
                sort_by: t.str_or_empty("sortBy"),
                wrapping: t.str_or_empty("wrapping"),
                fix_first_column: t.bool_or_false("fixFirstColumn"),
            };
        }
        for f in r.resources("fieldOptions") {
            c.field_options.push(FieldOption {
                field_name: f.str_or_empty("fieldName"),
                display_name: f.str_or_empty("displayName"),
                visible: f.bool_or_false("visible"),
            });
        }
        failures.extend(c.valid());
        if failures.is_empty() {
            Ok(c)
        } else {
            Err(failures)
        }
    }

    /// pkger's `validProperties`.
    fn valid(&self) -> Vec<VErr> {
        if self.kind == ChartKind::Markdown {
            return Vec::new();
        }
        let mut fails = Vec::new();
        if self.width <= 0 {
            fails.push(VErr::leaf("width", "must be greater than 0"));
        }
        if self.height <= 0 {
            fails.push(VErr::leaf("height", "must be greater than 0"));
        }
        for (i, c) in self.colors.iter().enumerate() {
            if c.hex.is_empty() {
                fails.push(
                    VErr::nested(
                        "colors",
                        vec![VErr::leaf("hex", "a color must have a hex value provided")],
                    )
                    .at(i),
                );
            }
        }
        let has_axes = |names: &[&str], fails: &mut Vec<VErr>| {
            for n in names {
                if !self.axes.iter().any(|a| a.name == *n) {
                    fails.push(VErr::leaf("axes", format!("axis not found: {n:?}")));
                }
            }
        };
        let valid_position = |fails: &mut Vec<VErr>| {
            let pos = self.position.to_lowercase();
            if !pos.is_empty() && pos != "overlaid" && pos != "stacked" {
                fails.push(VErr::leaf(
                    "position",
                    format!("invalid position supplied {pos:?}; valid positions is one of [overlaid, stacked]"),
                ));
            }
        };
        match self.kind {
            ChartKind::Gauge => {
                for t in ["min", "max"] {
                    if !self.colors.iter().any(|c| c.kind == t) {
                        fails.push(VErr::leaf("colors", format!("type not found: {t:?}")));
                    }
                }
            }
            ChartKind::Heatmap | ChartKind::Scatter => has_axes(&["x", "y"], &mut fails),
            ChartKind::Histogram => has_axes(&["x"], &mut fails),
            ChartKind::SingleStatPlusLine => {
                has_axes(&["x", "y"], &mut fails);
                valid_position(&mut fails);
            }
            ChartKind::Table => match self.table_options.wrapping.as_str() {
                "" | "single-line" | "truncate" | "wrap" => {}
                _ => fails.push(VErr::nested(
                    "tableOptions",
                    vec![VErr::leaf(
                        "wrapping",
                        r#"chart table option should 1 in ["single-line", "truncate", "wrap"]"#,
                    )],
                )),
            },
            ChartKind::Xy => {
                if !["line", "step", "stacked", "monotoneX", "bar"].contains(&self.geom.as_str()) {
                    let msg = if self.geom.is_empty() {
                        "type not found"
                    } else {
                        "type provided is not supported"
                    };
                    fails.push(VErr::leaf("geom", format!("{msg}: {:?}", self.geom)));
                }
                has_axes(&["x", "y"], &mut fails);
                valid_position(&mut fails);
            }
            _ => {}
        }
        fails
    }

    fn axis(&self, name: &str) -> Axis {
        self.axes
            .iter()
            .find(|a| a.name == name)
            .cloned()
            .unwrap_or_default()
    }

    /// The view properties InfluxDB stores for this chart, `shape` first.
    pub fn properties(&self) -> Map<String, Value> {
        let mut p = Map::new();
        p.insert("shape".into(), "chronograf-v2".into());
        let queries = || -> Value {
            if self.queries.is_empty() {
                return Value::Null;
            }
            self.queries
                .iter()
                .map(|q| {
                    json!({"text": q, "editMode": "advanced", "name": "",
                           "builderConfig": {"buckets": [], "tags": [], "functions": [],
                                             "aggregateWindow": {"period": "", "fillValues": false}}})
                })
                .collect()
        };
        let view_colors = || -> Value {
            if self.colors.is_empty() {
                return Value::Null;
            }
            self.colors.iter().map(Color::view_json).collect()
        };
        let color_strings = || -> Value {
            self.colors
                .iter()
                .map(|c| Value::String(c.hex.clone()))
                .collect()
        };
        let strs = |v: &Option<Vec<String>>| -> Value {
            v.as_ref().map(|v| json!(v)).unwrap_or(Value::Null)
        };
        let axes_map = || -> Value {
            let m: BTreeMap<&str, Value> = self
                .axes
                .iter()
                .map(|a| (a.name.as_str(), a.view_json(false)))
                .collect();
            json!(m)
        };
        let decimal =
            || json!({"isEnforced": self.enforce_decimals, "digits": self.decimal_places as i32});
        let kind = self.kind;
        let mut put = |k: &str, v: Value| {
            p.insert(k.to_string(), v);
        };
        let note = |put: &mut dyn FnMut(&str, Value)| {
            put("note", self.note.clone().into());
            put("showNoteWhenEmpty", self.note_on_empty.into());
        };
        let legend = |put: &mut dyn FnMut(&str, Value)| {
            put("legendColorizeRows", self.legend_colorize_rows.into());
            put("legendHide", self.legend_hide.into());
            put("legendOpacity", go_float(self.legend_opacity));
            put(
                "legendOrientationThreshold",
                self.legend_orientation_threshold.into(),
            );
        };
        let x_ticks = |put: &mut dyn FnMut(&str, Value)| {
            put("xColumn", self.x_col.clone().into());
            put("generateXAxisTicks", strs(&self.generate_x_axis_ticks));
            put("xTotalTicks", self.x_total_ticks.into());
            put("xTickStart", go_float(self.x_tick_start));
            put("xTickStep", go_float(self.x_tick_step));
        };
        let y_ticks = |put: &mut dyn FnMut(&str, Value)| {
            put("yColumn", self.y_col.clone().into());
            put("generateYAxisTicks", strs(&self.generate_y_axis_ticks));
            put("yTotalTicks", self.y_total_ticks.into());
            put("yTickStart", go_float(self.y_tick_start));
            put("yTickStep", go_float(self.y_tick_step));
        };
        let domains = |put: &mut dyn FnMut(&str, Value), with_y: bool| {
            let (x, y) = (self.axis("x"), self.axis("y"));
            let dom = |d: &Option<Vec<f64>>| -> Option<Value> {
                d.as_ref()
                    .filter(|d| !d.is_empty())
                    .map(|d| d.iter().map(|f| go_float(*f)).collect())
            };
            if let Some(d) = dom(&x.domain) {
                put("xDomain", d);
            }
            if with_y {
                if let Some(d) = dom(&y.domain) {
                    put("yDomain", d);
                }
            }
        };
        let axis_labels = |put: &mut dyn FnMut(&str, Value)| {
            let (x, y) = (self.axis("x"), self.axis("y"));
            put("xAxisLabel", x.label.into());
            put("yAxisLabel", y.label.into());
            put("xPrefix", x.prefix.into());
            put("xSuffix", x.suffix.into());
            put("yPrefix", y.prefix.into());
            put("ySuffix", y.suffix.into());
        };
        match kind {
            ChartKind::Markdown => {
                put("type", "markdown".into());
                put("note", self.note.clone().into());
            }
            ChartKind::SingleStat | ChartKind::Gauge => {
                put("type", kind.view_type().into());
                put("queries", queries());
                put("prefix", self.prefix.clone().into());
                put("tickPrefix", self.tick_prefix.clone().into());
                put("suffix", self.suffix.clone().into());
                put("tickSuffix", self.tick_suffix.clone().into());
                put("colors", view_colors());
                put("decimalPlaces", decimal());
                note(&mut put);
            }
            ChartKind::Xy => {
                put("queries", queries());
                put("axes", axes_map());
                put("type", "xy".into());
                put("staticLegend", self.static_legend.json());
                put("geom", self.geom.clone().into());
                put("colors", view_colors());
                note(&mut put);
                x_ticks(&mut put);
                y_ticks(&mut put);
                put("shadeBelow", self.shade.into());
                put("position", self.position.clone().into());
                put("timeFormat", self.time_format.clone().into());
                put("hoverDimension", self.hover_dimension.clone().into());
                legend(&mut put);
            }
            ChartKind::SingleStatPlusLine => {
                put("queries", queries());
                put("axes", axes_map());
                put("type", "line-plus-single-stat".into());
                put("staticLegend", self.static_legend.json());
                put("colors", view_colors());
                put("prefix", self.prefix.clone().into());
                put("suffix", self.suffix.clone().into());
                put("decimalPlaces", decimal());
                note(&mut put);
                x_ticks(&mut put);
                y_ticks(&mut put);
                put("shadeBelow", self.shade.into());
                put("position", self.position.clone().into());
                // pkger does not carry a time format for this kind.
                put("timeFormat", "".into());
                put("hoverDimension", self.hover_dimension.clone().into());
                legend(&mut put);
            }
            ChartKind::Band => {
                put("queries", queries());
                put("axes", axes_map());
                put("type", "band".into());
                put("staticLegend", self.static_legend.json());
                put("geom", self.geom.clone().into());
                put("colors", view_colors());
                note(&mut put);
                put("timeFormat", self.time_format.clone().into());
                put("hoverDimension", self.hover_dimension.clone().into());
                x_ticks(&mut put);
                y_ticks(&mut put);
                put("upperColumn", self.upper_column.clone().into());
                put("mainColumn", self.main_column.clone().into());
                put("lowerColumn", self.lower_column.clone().into());
                legend(&mut put);
            }
            ChartKind::Table => {
                put("type", "table".into());
                put("queries", queries());
                put("colors", view_colors());
                let t = &self.table_options;
                put(
                    "tableOptions",
                    json!({"verticalTimeAxis": t.vertical_time_axis,
                           "sortBy": {"internalName": t.sort_by, "displayName": "", "visible": false},
                           "wrapping": t.wrapping, "fixFirstColumn": t.fix_first_column}),
                );
                put(
                    "fieldOptions",
                    self.field_options
                        .iter()
                        .map(|f| json!({"internalName": f.field_name, "displayName": f.display_name, "visible": f.visible}))
                        .collect(),
                );
                put("timeFormat", self.time_format.clone().into());
                put("decimalPlaces", decimal());
                note(&mut put);
            }
            ChartKind::Heatmap => {
                put("type", "heatmap".into());
                put("queries", queries());
                put("colors", color_strings());
                put("binSize", (self.bin_size as i32).into());
                x_ticks(&mut put);
                y_ticks(&mut put);
                domains(&mut put, true);
                axis_labels(&mut put);
                note(&mut put);
                put("timeFormat", self.time_format.clone().into());
                legend(&mut put);
            }
            ChartKind::Histogram => {
                put("type", "histogram".into());
                put("queries", queries());
                put("colors", view_colors());
                put("xColumn", self.x_col.clone().into());
                put("fillColumns", strs(&self.fill_columns));
                domains(&mut put, false);
                put("xAxisLabel", self.axis("x").label.into());
                put("position", self.position.clone().into());
                put("binCount", self.bin_count.into());
                note(&mut put);
                legend(&mut put);
            }
            ChartKind::Scatter => {
                put("type", "scatter".into());
                put("queries", queries());
                put("colors", color_strings());
                put("fillColumns", Value::Null);
                put("symbolColumns", Value::Null);
                x_ticks(&mut put);
                y_ticks(&mut put);
                domains(&mut put, true);
                axis_labels(&mut put);
                note(&mut put);
                put("timeFormat", self.time_format.clone().into());
                legend(&mut put);
            }
            ChartKind::Mosaic => {
                put("type", "mosaic".into());
                put("queries", queries());
                put("colors", color_strings());
                put("fillColumns", Value::Null);
                x_ticks(&mut put);
                put(
                    "yLabelColumnSeparator",
                    self.y_label_column_separator.clone().into(),
                );
                put("yLabelColumns", strs(&self.y_label_columns));
                put("ySeriesColumns", strs(&self.y_series_columns));
                domains(&mut put, true);
                axis_labels(&mut put);
                note(&mut put);
                put("timeFormat", self.time_format.clone().into());
                put("hoverDimension", self.hover_dimension.clone().into());
                legend(&mut put);
            }
            ChartKind::Geo => {
                put("type", "geo".into());
                put("queries", queries());
                put(
                    "center",
                    json!({"lat": go_float(self.center_lat), "lon": go_float(self.center_lon)}),
                );
                put("zoom", go_float(self.zoom));
                put("mapStyle", self.map_style.clone().into());
                put("allowPanAndZoom", self.allow_pan_and_zoom.into());
                put(
                    "detectCoordinateFields",
                    self.detect_coordinate_fields.into(),
                );
                put("colors", view_colors());
                let layers: Vec<Value> = self
                    .geo_layers
                    .iter()
                    .map(|l| {
                        let dim = |a: &Option<Axis>| a.clone().unwrap_or_default().view_json(true);
                        json!({
                            "type": l.kind, "radiusField": l.radius_field,
                            "colorField": l.color_field, "intensityField": l.intensity_field,
                            "colors": if l.view_colors.is_empty() { Value::Null }
                                      else { l.view_colors.iter().map(Color::view_json).collect() },
                            "radius": l.radius as i32, "blur": l.blur as i32,
                            "radiusDimension": dim(&l.radius_dimension),
                            "colorDimension": dim(&l.color_dimension),
                            "intensityDimension": dim(&l.intensity_dimension),
                            "interpolateColors": l.interpolate_colors,
                            "trackWidth": l.track_width as i32, "speed": l.speed as i32,
                            "randomColors": l.random_colors, "isClustered": l.is_clustered,
                        })
                    })
                    .collect();
                put(
                    "layers",
                    if layers.is_empty() {
                        Value::Null
                    } else {
                        Value::Array(layers)
                    },
                );
                note(&mut put);
            }
        }
        p
    }

    /// The chart an export writes for a stored view (`convertCellView`);
    /// `None` for view types templates cannot carry.
    pub fn from_view(name: &str, pos: (i64, i64, i64, i64), props: &Value) -> Option<ChartSpec> {
        let p = props.as_object()?;
        if p.get("shape").and_then(Value::as_str) != Some("chronograf-v2") {
            return None;
        }
        let kind = ChartKind::from_view_type(p.get("type").and_then(Value::as_str)?)?;
        let mut c = ChartSpec::empty(kind);
        c.name = name.to_string();
        (c.x_pos, c.y_pos, c.width, c.height) = pos;
        let s = |k: &str| p.str_or_empty(k);
        let strs = |k: &str| -> Option<Vec<String>> {
            p.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(value_str).collect())
        };
        let view_colors = || -> Vec<Color> {
            p.get("colors")
                .and_then(Value::as_array)
                .map(|a| a.iter().map(Color::from_view).collect())
                .unwrap_or_default()
        };
        let string_colors = || -> Vec<Color> {
            p.get("colors")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|v| match v {
                            Value::Object(_) => Color {
                                hex: Color::from_view(v).hex,
                                ..Color::default()
                            },
                            other => Color {
                                hex: value_str(other).unwrap_or_default(),
                                ..Color::default()
                            },
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let queries = || -> Vec<String> {
            p.get("queries")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_object)
                        .map(|q| q.str_or_empty("text").trim().to_string())
                        .collect()
                })
                .unwrap_or_default()
        };
        let decimals = |c: &mut ChartSpec| {
            if let Some(d) = p.get("decimalPlaces").and_then(Value::as_object) {
                c.decimal_places = d.int_or_zero("digits");
                c.enforce_decimals = d.bool_or_false("isEnforced");
            }
        };
        let axes_map = || -> Vec<Axis> {
            p.get("axes")
                .and_then(Value::as_object)
                .map(|m| m.iter().map(|(k, v)| Axis::from_view(k, Some(v))).collect())
                .unwrap_or_default()
        };
        let domain = |k: &str| -> Option<Vec<f64>> {
            p.get(k)
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
        };
        let xy_axes = || -> Vec<Axis> {
            vec![
                Axis {
                    label: s("xAxisLabel"),
                    prefix: s("xPrefix"),
                    suffix: s("xSuffix"),
                    name: "x".into(),
                    domain: domain("xDomain"),
                    ..Axis::default()
                },
                Axis {
                    label: s("yAxisLabel"),
                    prefix: s("yPrefix"),
                    suffix: s("ySuffix"),
                    name: "y".into(),
                    domain: domain("yDomain"),
                    ..Axis::default()
                },
            ]
        };
        let ticks = |c: &mut ChartSpec| {
            c.x_col = s("xColumn");
            c.generate_x_axis_ticks = strs("generateXAxisTicks");
            c.x_total_ticks = p.int_or_zero("xTotalTicks");
            c.x_tick_start = p.float_or_zero("xTickStart");
            c.x_tick_step = p.float_or_zero("xTickStep");
            c.y_col = s("yColumn");
            c.generate_y_axis_ticks = strs("generateYAxisTicks");
            c.y_total_ticks = p.int_or_zero("yTotalTicks");
            c.y_tick_start = p.float_or_zero("yTickStart");
            c.y_tick_step = p.float_or_zero("yTickStep");
        };
        let legend = |c: &mut ChartSpec| {
            c.legend_colorize_rows = p.bool_or_false("legendColorizeRows");
            c.legend_hide = p.bool_or_false("legendHide");
            c.legend_opacity = p.float_or_zero("legendOpacity");
            c.legend_orientation_threshold = p.int_or_zero("legendOrientationThreshold");
        };
        let static_legend = |c: &mut ChartSpec| {
            if let Some(sl) = p.get("staticLegend").and_then(Value::as_object) {
                c.static_legend = StaticLegend::parse(sl);
            }
        };
        c.note = s("note");
        c.note_on_empty = p.bool_or_false("showNoteWhenEmpty");
        match kind {
            ChartKind::Gauge | ChartKind::SingleStat => {
                c.colors = view_colors();
                decimals(&mut c);
                c.queries = queries();
                c.prefix = s("prefix");
                c.suffix = s("suffix");
                c.tick_prefix = s("tickPrefix");
                c.tick_suffix = s("tickSuffix");
            }
            ChartKind::Geo => {
                c.queries = queries();
                c.zoom = p.float_or_zero("zoom");
                if let Some(ctr) = p.get("center").and_then(Value::as_object) {
                    c.center_lat = ctr.float_or_zero("lat");
                    c.center_lon = ctr.float_or_zero("lon");
                }
                c.map_style = s("mapStyle");
                c.allow_pan_and_zoom = p.bool_or_false("allowPanAndZoom");
                c.detect_coordinate_fields = p.bool_or_false("detectCoordinateFields");
                c.colors = view_colors();
                for l in p
                    .get("layers")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(l) = l.as_object() else { continue };
                    c.geo_layers.push(GeoLayer {
                        kind: l.str_or_empty("type"),
                        radius_field: l.str_or_empty("radiusField"),
                        color_field: l.str_or_empty("colorField"),
                        intensity_field: l.str_or_empty("intensityField"),
                        view_colors: l
                            .get("colors")
                            .and_then(Value::as_array)
                            .map(|a| a.iter().map(Color::from_view).collect())
                            .unwrap_or_default(),
                        radius: l.int_or_zero("radius"),
                        blur: l.int_or_zero("blur"),
                        radius_dimension: Some(Axis::from_view("radius", l.get("radiusDimension"))),
                        color_dimension: Some(Axis::from_view("color", l.get("colorDimension"))),
                        intensity_dimension: Some(Axis::from_view(
                            "intensity",
                            l.get("intensityDimension"),
                        )),
                        interpolate_colors: l.bool_or_false("interpolateColors"),
                        track_width: l.int_or_zero("trackWidth"),
                        speed: l.int_or_zero("speed"),
                        random_colors: l.bool_or_false("randomColors"),
                        is_clustered: l.bool_or_false("isClustered"),
                    });
                }
            }
            ChartKind::Heatmap | ChartKind::Scatter | ChartKind::Mosaic => {
                c.queries = queries();
                c.colors = string_colors();
                ticks(&mut c);
                c.axes = xy_axes();
                legend(&mut c);
                if kind == ChartKind::Heatmap {
                    c.bin_size = p.int_or_zero("binSize");
                }
                if kind == ChartKind::Mosaic {
                    c.y_col = String::new();
                    c.generate_y_axis_ticks = None;
                    c.y_total_ticks = 0;
                    c.y_tick_start = 0.0;
                    c.y_tick_step = 0.0;
                    c.hover_dimension = s("hoverDimension");
                    c.y_label_column_separator = s("yLabelColumnSeparator");
                    c.y_label_columns = strs("yLabelColumns");
                    c.y_series_columns = strs("ySeriesColumns");
                }
            }
            ChartKind::Histogram => {
                c.queries = queries();
                c.colors = view_colors();
                c.fill_columns = strs("fillColumns");
                c.x_col = s("xColumn");
                c.axes = vec![Axis {
                    label: s("xAxisLabel"),
                    name: "x".into(),
                    domain: domain("xDomain"),
                    ..Axis::default()
                }];
                c.bin_count = p.int_or_zero("binCount");
                c.position = s("position");
                legend(&mut c);
            }
            ChartKind::Markdown => {}
            ChartKind::SingleStatPlusLine | ChartKind::Xy | ChartKind::Band => {
                c.colors = view_colors();
                c.queries = queries();
                if kind == ChartKind::SingleStatPlusLine {
                    decimals(&mut c);
                    c.prefix = s("prefix");
                    c.suffix = s("suffix");
                }
                static_legend(&mut c);
                c.axes = axes_map();
                c.hover_dimension = s("hoverDimension");
                ticks(&mut c);
                legend(&mut c);
                if kind != ChartKind::Band {
                    c.shade = p.bool_or_false("shadeBelow");
                    c.position = s("position");
                }
                if kind != ChartKind::SingleStatPlusLine {
                    c.geom = s("geom");
                }
                if kind == ChartKind::Band {
                    c.upper_column = s("upperColumn");
                    c.main_column = s("mainColumn");
                    c.lower_column = s("lowerColumn");
                }
            }
            ChartKind::Table => {
                c.colors = view_colors();
                decimals(&mut c);
                c.queries = queries();
                c.time_format = s("timeFormat");
                if let Some(t) = p.get("tableOptions").and_then(Value::as_object) {
                    c.table_options = TableOptions {
                        vertical_time_axis: t.bool_or_false("verticalTimeAxis"),
                        sort_by: t
                            .get("sortBy")
                            .and_then(Value::as_object)
                            .map(|s| s.str_or_empty("internalName"))
                            .unwrap_or_default(),
                        wrapping: t.str_or_empty("wrapping"),
                        fix_first_column: t.bool_or_false("fixFirstColumn"),
                    };
                }
                for f in p
                    .get("fieldOptions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let Some(f) = f.as_object() else { continue };
                    c.field_options.push(FieldOption {
                        field_name: f.str_or_empty("internalName"),
                        display_name: f.str_or_empty("displayName"),
                        visible: f.bool_or_false("visible"),
                    });
                }
            }
        }
        if matches!(
            kind,
            ChartKind::Heatmap
                | ChartKind::Scatter
                | ChartKind::Mosaic
                | ChartKind::Band
                | ChartKind::Xy
        ) {
            c.time_format = s("timeFormat");
        }
        c.axes.sort_by(|a, b| a.name.cmp(&b.name));
        Some(c)
    }

    /// The chart as an exported template writes it (a Go map: sorted keys,
    /// zero values left out).
    pub fn to_template(&self) -> Value {
        let mut r = Resource::new();
        r.insert("kind".into(), self.kind.title().into());
        r.insert("name".into(), self.name.clone().into());
        r.insert("height".into(), self.height.into());
        r.insert("width".into(), self.width.into());
        if !self.queries.is_empty() {
            r.insert(
                "queries".into(),
                self.queries.iter().map(|q| json!({"query": q})).collect(),
            );
        }
        if !self.colors.is_empty() {
            r.insert(
                "colors".into(),
                self.colors.iter().map(Color::template_json).collect(),
            );
        }
        if !self.axes.is_empty() {
            r.insert(
                "axes".into(),
                self.axes.iter().map(Axis::template_json).collect(),
            );
        }
        let mut list = |k: &str, v: &Option<Vec<String>>| {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                r.insert(k.into(), json!(v));
            }
        };
        list("yLabelColumns", &self.y_label_columns);
        list("ySeriesColumns", &self.y_series_columns);
        list("fillColumns", &self.fill_columns);
        list("generateXAxisTicks", &self.generate_x_axis_ticks);
        list("generateYAxisTicks", &self.generate_y_axis_ticks);
        if self.enforce_decimals {
            r.insert("decimalPlaces".into(), self.decimal_places.into());
        }
        if self.static_legend.height_ratio >= 0.0 && self.static_legend.width_ratio >= 0.0 {
            r.insert("staticLegend".into(), self.static_legend.json());
        }
        if !self.geo_layers.is_empty() {
            let layers: Vec<Value> = self
                .geo_layers
                .iter()
                .map(|l| {
                    let mut m = Resource::new();
                    put_strings(
                        &mut m,
                        &[
                            ("layerType", &l.kind),
                            ("radiusField", &l.radius_field),
                            ("intensityField", &l.intensity_field),
                            ("colorField", &l.color_field),
                        ],
                    );
                    put_ints(
                        &mut m,
                        &[
                            ("radius", l.radius),
                            ("blur", l.blur),
                            ("speed", l.speed),
                            ("trackWidth", l.track_width),
                        ],
                    );
                    put_bools(
                        &mut m,
                        &[
                            ("randomColors", l.random_colors),
                            ("isClustered", l.is_clustered),
                            ("interpolateColors", l.interpolate_colors),
                        ],
                    );
                    if !l.view_colors.is_empty() {
                        m.insert(
                            "viewColors".into(),
                            l.view_colors.iter().map(Color::template_json).collect(),
                        );
                    }
                    for (k, a) in [
                        ("radiusDimension", &l.radius_dimension),
                        ("colorDimension", &l.color_dimension),
                        ("intensityDimension", &l.intensity_dimension),
                    ] {
                        if let Some(a) = a {
                            m.insert(k.into(), a.template_json());
                        }
                    }
                    sorted(m)
                })
                .collect();
            r.insert("geoLayers".into(), Value::Array(layers));
        }
        if self.table_options != TableOptions::default() {
            let t = &self.table_options;
            let mut m = Resource::new();
            put_bools(
                &mut m,
                &[
                    ("verticalTimeAxis", t.vertical_time_axis),
                    ("fixFirstColumn", t.fix_first_column),
                ],
            );
            put_strings(&mut m, &[("sortBy", &t.sort_by), ("wrapping", &t.wrapping)]);
            r.insert("tableOptions".into(), sorted(m));
        }
        if !self.field_options.is_empty() {
            let opts: Vec<Value> = self
                .field_options
                .iter()
                .map(|f| {
                    let mut m = Resource::new();
                    put_bools(&mut m, &[("visible", f.visible)]);
                    put_strings(
                        &mut m,
                        &[
                            ("displayName", &f.display_name),
                            ("fieldName", &f.field_name),
                        ],
                    );
                    sorted(m)
                })
                .collect();
            r.insert("fieldOptions".into(), Value::Array(opts));
        }
        put_strings(
            &mut r,
            &[
                ("upperColumn", &self.upper_column),
                ("mainColumn", &self.main_column),
                ("lowerColumn", &self.lower_column),
            ],
        );
        put_bools(
            &mut r,
            &[
                ("noteOnEmpty", self.note_on_empty),
                ("shade", self.shade),
                ("legendColorizeRows", self.legend_colorize_rows),
                ("legendHide", self.legend_hide),
                ("colorizeRows", self.static_legend.colorize_rows),
                ("show", self.static_legend.show),
                ("allowPanAndZoom", self.allow_pan_and_zoom),
                ("detectCoordinateFields", self.detect_coordinate_fields),
            ],
        );
        put_strings(
            &mut r,
            &[
                ("note", &self.note),
                ("prefix", &self.prefix),
                ("suffix", &self.suffix),
                ("geom", &self.geom),
                ("xCol", &self.x_col),
                ("yCol", &self.y_col),
                ("position", &self.position),
                ("tickPrefix", &self.tick_prefix),
                ("tickSuffix", &self.tick_suffix),
                ("timeFormat", &self.time_format),
                ("hoverDimension", &self.hover_dimension),
                ("yLabelColumnSeparator", &self.y_label_column_separator),
                ("valueAxis", &self.static_legend.value_axis),
                ("mapStyle", &self.map_style),
            ],
        );
        put_ints(
            &mut r,
            &[
                ("xPos", self.x_pos),
                ("xTotalTicks", self.x_total_ticks),
                ("yPos", self.y_pos),
                ("yTotalTicks", self.y_total_ticks),
                ("binCount", self.bin_count),
                ("binSize", self.bin_size),
                (
                    "legendOrientationThreshold",
                    self.legend_orientation_threshold,
                ),
                (
                    "orientationThreshold",
                    self.static_legend.orientation_threshold,
                ),
            ],
        );
        for (k, v) in [
            ("legendOpacity", self.legend_opacity),
            ("opacity", self.static_legend.opacity),
            ("heightRatio", self.static_legend.height_ratio),
            ("widthRatio", self.static_legend.width_ratio),
            ("xTickStart", self.x_tick_start),
            ("xTickStep", self.x_tick_step),
            ("yTickStart", self.y_tick_start),
            ("yTickStep", self.y_tick_step),
            ("lon", self.center_lon),
            ("lat", self.center_lat),
            ("zoom", self.zoom),
        ] {
            if v != 0.0 {
                r.insert(k.into(), go_float(v));
            }
        }
        sorted(r)
    }
}

fn put_strings(m: &mut Resource, pairs: &[(&str, &String)]) {
    for (k, v) in pairs {
        if !v.is_empty() {
            m.insert((*k).into(), Value::String((*v).clone()));
        }
    }
}

fn put_ints(m: &mut Resource, pairs: &[(&str, i64)]) {
    for (k, v) in pairs {
        if *v != 0 {
            m.insert((*k).into(), (*v).into());
        }
    }
}

fn put_bools(m: &mut Resource, pairs: &[(&str, bool)]) {
    for (k, v) in pairs {
        if *v {
            m.insert((*k).into(), true.into());
        }
    }
}
