//! The README's curl walk-through, run verbatim against a fresh server.

mod common;

use std::process::Command;

fn walkthrough() -> String {
    sh_block("## Walk-through with curl")
}

/// The first `sh` block after a heading.
fn sh_block(heading: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let section = readme.split(heading).nth(1).expect("section");
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

#[test]
fn readme_undo_section_runs_after_the_walkthrough() {
    let s = common::Server::start_fresh(&[]);
    let script = format!("{}\n{}", walkthrough(), sh_block("## Undo anything"))
        .replace("URL=http://127.0.0.1:8086", &format!("URL={}", s.base));
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
        "undo section failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let undo = stdout
        .split("{\"code\":\"not found\",\"message\":\"dashboard not found\"}")
        .nth(1)
        .expect("the walk-through ran first");
    for want in [
        "{\"name\":\"Engine room (main)\",\"by\":\"ada\"}",
        "{\"name\":\"Engine room (main)\",\"cells\":1}",
        "\"boilers, pumps\"",
        "412",
        "304",
        "{\"version\":10,\"summary\":\"restored from the trash\"}",
        "{\"name\":\"Engine room (main)\",\"cells\":2}",
        "{\"name\":\"Engine room (night shift)\",\"cells\":2,\"labels\":[\"production\"]}",
        "204",
    ] {
        assert!(
            undo.lines().any(|l| l.trim() == want),
            "missing output line {want}\nstdout:\n{undo}"
        );
    }
    assert!(!undo.contains("null"), "a step printed null:\n{undo}");
}

/// Runs a script with bash (`set -euo pipefail`) in a fresh directory; its stdout.
fn run(script: &str, what: &str) -> String {
    let dir = tempfile::tempdir().expect("tmp");
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("set -euo pipefail\n{script}"))
        .current_dir(dir.path())
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{what} failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    stdout
}

/// Every `sh` block of a section, up to the next `## ` heading.
fn sh_blocks(heading: &str) -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let section = readme.split(heading).nth(1).expect("section");
    let section = section.split("\n## ").next().expect("section end");
    section
        .split("```sh\n")
        .skip(1)
        .map(|b| b.split("```").next().expect("block end"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn readme_teams_section_runs_after_the_undo_section() {
    let s = common::Server::start_fresh(&[]);
    let script = format!(
        "{}\n{}\necho TEAMS\n{}",
        walkthrough(),
        sh_block("## Undo anything"),
        sh_blocks("## Teams")
    )
    .replace("URL=http://127.0.0.1:8086", &format!("URL={}", s.base));
    let stdout = run(&script, "teams section");
    let teams = stdout.split("TEAMS\n").nth(1).expect("teams ran");
    let lines: Vec<&str> = teams.lines().map(str::trim).collect();
    assert_eq!(lines[0], "true", "{teams}");
    assert!(
        lines.contains(&"{\"isDefaultForUser\":true,\"isDefaultForOrg\":true}"),
        "{teams}"
    );
    assert!(lines.contains(&"204"), "{teams}");
    assert_eq!(lines.last(), Some(&"dashboard editor"), "{teams}");
    assert!(!teams.contains("null"), "a step printed null:\n{teams}");
}
