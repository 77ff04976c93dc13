//! Log lines on stderr, as text for people or as one JSON object a line for
//! collectors. Structured fields (the access log's) travel as the record's
//! key-values and become JSON members.

use crate::config::LogFormat;
use std::io::Write;

pub fn init(level: &str, format: LogFormat) {
    let mut builder =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level));
    if format == LogFormat::Json {
        builder.format(|buf, record| {
            let mut line = serde_json::Map::new();
            line.insert(
                "ts".into(),
                crate::domain::time::Timestamp::now().rfc3339().into(),
            );
            line.insert(
                "level".into(),
                record.level().as_str().to_lowercase().into(),
            );
            line.insert("target".into(), record.target().into());
            line.insert("message".into(), record.args().to_string().into());
            let mut fields = Fields(&mut line);
            let _ = record.key_values().visit(&mut fields);
            writeln!(buf, "{}", serde_json::Value::Object(line))
        });
    }
    builder.init();
}

struct Fields<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl<'kvs> log::kv::VisitSource<'kvs> for Fields<'_> {
    fn visit_pair(
        &mut self,
        key: log::kv::Key<'kvs>,
        value: log::kv::Value<'kvs>,
    ) -> Result<(), log::kv::Error> {
        let v: serde_json::Value = if let Some(n) = value.to_u64() {
            n.into()
        } else if let Some(x) = value.to_f64() {
            x.into()
        } else {
            let s = value.to_string();
            // An empty field (no user on an anonymous request) is left out.
            if s.is_empty() {
                return Ok(());
            }
            s.into()
        };
        self.0.insert(key.as_str().to_owned(), v);
        Ok(())
    }
}
