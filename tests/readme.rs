//! The README's curl walk-through, run verbatim against a fresh server.

mod common;

use std::process::Command;

fn walkthrough() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let section = readme
        .split("## Walk-through with curl")
        .nth(1)
        .expect("walk-through section");
    let block = section.split("```sh\n").nth(1).expect("sh block");
    block.split("```").next().expect("block end").to_string()
}

#[test]
fn readme_walkthrough_runs_verbatim() {
    let s = common::Server::start_fresh(&[]);
    let script = walkthrough();
    assert!(
        script.contains("URL=http://127.0.0.1:8086"),
        "the walk-through targets the default address"
    );
    // Only the address changes: the test server listens on a free port.
    let script = script.replace("URL=http://127.0.0.1:8086", &format!("URL={}", s.base));
    let dir = tempfile::tempdir().expect("tmp");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{script}"))
        .current_dir(dir.path())
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "walk-through failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    for want in [
        "\"Engine room\"",
        "\"Engine room (main)\"",
        "\"xy\"",
        "{\"x\":6,\"y\":4,\"w\":6,\"h\":4}",
        "2",
        "\"Boiler (copy)\"",
        "\"production\"",
        "Engine room (main)",
        "{\"name\":\"bob\",\"role\":\"member\"}",
        "401",
        "204",
        "\"bob\"",
        "{\"code\":\"not found\",\"message\":\"dashboard not found\"}",
    ] {
        assert!(
            lines.iter().any(|l| l.trim() == want),
            "missing output line {want}\nstdout:\n{stdout}"
        );
    }
    assert!(!stdout.contains("null"), "a step printed null:\n{stdout}");
}
