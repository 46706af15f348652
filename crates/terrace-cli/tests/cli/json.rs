//! The JSON documents scripts rely on, as snapshots. Values that change from run to
//! run (times, durations) are replaced by `"[..]"`; their presence and kind are
//! checked in the command tests.

use crate::support::Sandbox;
use serde_json::Value;

/// Replaces run-dependent values, keeping the document's shape.
fn stable(mut doc: Value) -> String {
    fn walk(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    let varies = matches!(
                        key.as_str(),
                        "applied_at" | "duration_ms" | "total_ms" | "execution_ms"
                    );
                    if varies && !value.is_null() {
                        *value = Value::from("[..]");
                    } else {
                        walk(value);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut doc);
    serde_json::to_string_pretty(&doc).unwrap()
}

#[test]
fn documents() {
    let sandbox = Sandbox::three_migrations();
    let json = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--format", "json"]);
        let run = sandbox.run(&all);
        assert!(run.stderr.is_empty(), "{args:?}: {}", run.stderr);
        format!(
            "$ terrace {} --format json\n[exit {}]\n{}",
            args.join(" "),
            run.code,
            stable(run.json())
        )
    };
    let documents = [
        json(&["migrate", "--to", "2"]),
        json(&["status"]),
        json(&["history"]),
        json(&["migrate", "--dry-run"]),
        json(&["rollback", "--dry-run"]),
        json(&["validate"]),
        json(&["repair"]),
        json(&["rollback"]),
        json(&["baseline", "1"]),
        json(&["reset", "--yes"]),
        json(&["status", "--check"]),
        json(&[
            "--database",
            "postgres://app:secret@127.0.0.1:9/app",
            "status",
        ]),
    ];
    insta::assert_snapshot!("documents", documents.join("\n\n"));
}
