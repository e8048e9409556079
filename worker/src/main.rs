//! The `tributary` command.

use std::path::PathBuf;

use anyhow::bail;

/// The data path allocates and frees small records at a high rate; mimalloc's thread-local
/// free lists cost far less there than glibc's malloc (see README, "Performance"). An idle
/// worker's RSS grows from about 13 to 25 MiB; `MIMALLOC_ARENA_EAGER_COMMIT=0` in the
/// environment brings it back to about 14 MiB.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
