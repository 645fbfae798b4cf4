//! `scripts/import-graph`: the gateway's folders import only downward
//! (ARCHITECTURE.md), and the script does catch an arrow that points up.

use std::path::Path;
use std::process::Command;

use switchyard_e2e::workspace_root;

fn import_graph(src: Option<&Path>) -> std::process::Output {
    let root = workspace_root();
    let mut command = Command::new(root.join("scripts/import-graph"));
    if let Some(src) = src {
        command.arg("--src").arg(src);
    }
    command
        .output()
        .expect("scripts/import-graph runs (python3)")
}

#[test]
fn the_gateways_folders_import_only_downward() {
    let out = import_graph(None);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_upward_import_and_a_folder_in_no_layer_fail() {
    let dir = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| {
        let path = dir.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("main.rs", "mod net;\nmod proxy;\nmod extra;\n");
    write("proxy/mod.rs", "use crate::net::connect;\n");
    // Upward: net is below proxy. Named in a comment, `crate::proxy` is no arrow.
    write(
        "net/mod.rs",
        "// crate::command\npub fn f() { crate::proxy::g(); }\n",
    );
    write("extra.rs", "");
    let out = import_graph(Some(dir.path()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("net -> proxy   <-- not downward"),
        "{stdout}"
    );
    assert!(stdout.contains("proxy -> net\n"), "{stdout}");
    assert!(!stdout.contains("-> command"), "{stdout}");
    assert!(stderr.contains("extra: in no layer"), "{stderr}");
}
