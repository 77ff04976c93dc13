//! Embeds the OpenAPI document (authored as YAML) as JSON, and stamps the
//! binary with the git commit when one is available.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=openapi/openapi.yaml");
    println!("cargo:rerun-if-changed=.git/HEAD");
    let text = std::fs::read_to_string("openapi/openapi.yaml").expect("read openapi/openapi.yaml");
    let doc: serde_json::Value =
        serde_norway::from_str(&text).expect("openapi/openapi.yaml is not valid YAML");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("openapi.json");
    std::fs::write(out, serde_json::to_vec(&doc).expect("serialise")).expect("write openapi.json");

    if std::env::var("TESSERA_COMMIT").is_err() {
        let commit = Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        if let Some(c) = commit {
            println!("cargo:rustc-env=TESSERA_COMMIT={c}");
        }
    }
}
