//! `switchyard demo`: the gateway on the built-in demo configuration, with
//! its three origins running inside the same process.

use std::process::ExitCode;

use crate::command::demo_origins::{run_origin, DEMO_CONFIG, GUIDE, ORIGINS};

pub fn run() -> anyhow::Result<ExitCode> {
    let loaded =
        crate::process::config_files::load_text("fixtures/demo.cfg (built in)", DEMO_CONFIG);
    let Some(checked) = super::check::report(loaded, false) else {
        return Ok(ExitCode::FAILURE);
    };
    let origins = Box::pin(async {
        let mut tasks = Vec::new();
        for (name, addr) in ORIGINS {
            let addr = addr.parse().expect("demo addresses are literals");
            tasks.push(tokio::spawn(async move {
                if let Err(e) = run_origin(name, addr).await {
                    tracing::error!("demo origin {name} cannot listen on {addr}: {e}");
                }
            }));
        }
        for t in tasks {
            let _ = t.await;
        }
    });
    println!("{GUIDE}");
    let source = crate::process::generation::Source::Text {
        name: "fixtures/demo.cfg (built in)",
        text: DEMO_CONFIG,
    };
    super::serve::serve(source, checked, Default::default(), Some(origins))
}
