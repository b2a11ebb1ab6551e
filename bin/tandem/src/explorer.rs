//! `tandem explorer`: the web explorer over any tandem network's public JSON-RPC.
use eyre::WrapErr;
use std::net::{IpAddr, SocketAddr};
use tandem_explorer::{ExplorerConfig, serve};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    layers: tandem_client::cli::Layers,
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
        l1_rpc: args.layers.l1_rpc.clone(),
        l2_rpc: (!args.no_l2).then(|| args.layers.l2_rpc.clone()),
        listen: SocketAddr::new(args.host, args.port),
    })
    .await
    .wrap_err("starting the explorer")?;
    let url = format!("http://{}", explorer.addr);
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "url": url, "rpc": url, "l1Rpc": args.layers.l1_rpc })
        );
    } else {
        println!(
            "tandem explorer on {url} (L1 {}{})",
            args.layers.l1_rpc,
            if args.no_l2 {
                String::new()
            } else {
                format!(", L2 {}", args.layers.l2_rpc)
            }
        );
    }
    crate::cli::until_stopped().await?;
    explorer.shutdown().await;
    Ok(())
}
