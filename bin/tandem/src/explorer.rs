//! `tandem explorer`: the web explorer over any tandem network's public JSON-RPC.
use eyre::WrapErr;
use std::net::{IpAddr, SocketAddr};
use tandem_explorer::{ExplorerConfig, serve};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// L1's JSON-RPC URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8545")]
    l1_rpc: String,
    /// An L2 node's JSON-RPC URL (its sequencer or a verifier).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9545")]
    l2_rpc: String,
    /// Show L1 only (the rollup and bridge pages say they are not available).
    #[arg(long)]
    no_l2: bool,
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Port (0 picks a free one).
    #[arg(long, short, default_value_t = 8080)]
    port: u16,
    /// Print the address as one JSON object on stdout, for scripts.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: Args) -> eyre::Result<()> {
    let explorer = serve(ExplorerConfig {
        l1_rpc: args.l1_rpc.clone(),
        l2_rpc: (!args.no_l2).then(|| args.l2_rpc.clone()),
        listen: SocketAddr::new(args.host, args.port),
    })
    .await
    .wrap_err("starting the explorer")?;
    let url = format!("http://{}", explorer.addr);
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "url": url, "rpc": url, "l1Rpc": args.l1_rpc })
        );
    } else {
        println!(
            "tandem explorer on {url} (L1 {}{})",
            args.l1_rpc,
            if args.no_l2 {
                String::new()
            } else {
                format!(", L2 {}", args.l2_rpc)
            }
        );
    }
    crate::shutdown_signal().await?;
    explorer.shutdown().await;
    Ok(())
}
