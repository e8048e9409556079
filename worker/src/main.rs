//! The `tributary` command.

use std::path::PathBuf;

use anyhow::bail;

const USAGE: &str = "usage:
  tributary standalone <worker.properties> [<connector.properties|.json> ...]
  tributary distributed <worker.properties>
  tributary --version";

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("standalone") => {
            let Some(worker) = args.get(1) else {
                bail!("{USAGE}")
            };
            let connectors = args[2..].iter().map(PathBuf::from).collect();
            let logs = tributary::logging::init("info");
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(tributary::standalone::run(
                logs,
                PathBuf::from(worker),
                connectors,
            ))
        }
        Some("distributed") => {
            let (Some(worker), None) = (args.get(1), args.get(2)) else {
                bail!("{USAGE}")
            };
            let logs = tributary::logging::init("info");
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(tributary::distributed::run(logs, PathBuf::from(worker)))
        }
        Some("--version") | Some("-V") => {
            println!("tributary {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        _ => bail!("{USAGE}"),
    }
}
