//! `tandem bridge ...`: move ETH between the layers through the Portal and the message passer,
//! and follow a withdrawal through its stages to its payout on L1.
use alloy_primitives::{
    Address, B256, U256,
    utils::{format_ether, parse_ether},
};
use std::time::Duration;
use tandem_client::cli as flags;
use tandem_client::{Client, bridge};
use tandem_primitives::{ChainConfig, dev::DevAccount};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: BridgeCommand,
}

#[derive(Debug, clap::Subcommand)]
enum BridgeCommand {
    /// Deposit ETH from L1 into L2 through the Portal; waits until L2 credits it.
    Deposit(MoveArgs),
    /// Start a withdrawal of ETH from L2 to L1 (L2ToL1MessagePasser); finalize it on L1 once
    /// an output covering it is past its challenge window.
    Withdraw(MoveArgs),
    /// Where a withdrawal stands: initiated, in an output (and when its window ends),
    /// finalizable, finalized.
    Status(StatusArgs),
    /// Pay out a withdrawal on L1 with its proof; waits for the challenge window if it must.
    Finalize(FinalizeArgs),
}

#[derive(Debug, clap::Args)]
struct MoveArgs {
    /// How much, in ETH (e.g. 0.5).
    #[arg(long, value_name = "ETH", value_parser = ether)]
    amount: U256,
    /// The recipient on the other layer (the signer by default).
    #[arg(long, value_name = "ADDRESS")]
    to: Option<Address>,
    /// Who signs (dev account 0 on a dev chain when neither flag is given).
    #[command(flatten)]
    signer: flags::KeyArgs,
    #[command(flatten)]
    layers: flags::Layers,
    /// Print the result as JSON, for scripts.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct StatusArgs {
    /// The L2 transaction that initiated the withdrawal.
    tx_hash: B256,
    #[command(flatten)]
    layers: flags::Layers,
    /// Print the result as JSON, for scripts.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct FinalizeArgs {
    /// The L2 transaction that initiated the withdrawal.
    tx_hash: B256,
    /// Fail at once if the withdrawal is not finalizable yet, instead of waiting.
    #[arg(long)]
    no_wait: bool,
    #[command(flatten)]
    signer: flags::KeyArgs,
    #[command(flatten)]
    layers: flags::Layers,
    /// Print the result as JSON, for scripts.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: Args) -> eyre::Result<()> {
    match args.command {
        BridgeCommand::Deposit(args) => deposit(args).await,
        BridgeCommand::Withdraw(args) => withdraw(args).await,
        BridgeCommand::Status(args) => status(args).await,
        BridgeCommand::Finalize(args) => finalize(args).await,
    }
}

/// Both layers' clients and the signer: the given key, or dev account 0 on a dev chain.
async fn connect(
    layers: &flags::Layers,
    signer: &flags::KeyArgs,
) -> eyre::Result<(Client, Client, DevAccount)> {
    let (l1, l2) = (Client::new(&layers.l1_rpc)?, Client::new(&layers.l2_rpc)?);
    let dev_chain = !signer.given() && l1.chain_id().await? == ChainConfig::L1_DEV_CHAIN_ID;
    let key = signer.key(dev_chain.then_some(0))?;
    Ok((l1, l2, key))
}

/// An amount of ETH, more than zero, for clap.
fn ether(text: &str) -> Result<U256, String> {
    match parse_ether(text) {
        Ok(wei) if wei.is_zero() => Err("must be more than zero".into()),
        Ok(wei) => Ok(wei),
        Err(_) => Err(format!("{text:?} is not an amount of ETH")),
    }
}

/// How long a transaction may take to land.
const PATIENCE: Duration = Duration::from_secs(120);

async fn deposit(args: MoveArgs) -> eyre::Result<()> {
    let (l1, l2, key) = connect(&args.layers, &args.signer).await?;
    let (to, value) = (args.to.unwrap_or(key.address), args.amount);
    let progress = flags::spinner(
        args.json,
        format!("depositing {} ETH on L1", format_ether(value)),
    );
    let deposited = bridge::deposit_and_wait((&l1, &l2), &key, to, value, PATIENCE, |d| {
        progress.set_message(format!(
            "L1 block {} queued deposit {}; waiting for L2 to include it (once that block is final)",
            d.l1.block_number.unwrap_or_default(),
            d.queue_index
        ))
    })
    .await;
    progress.finish_and_clear();
    Ok(flags::report(args.json, &deposited?)?)
}

async fn withdraw(args: MoveArgs) -> eyre::Result<()> {
    let (_, l2, key) = connect(&args.layers, &args.signer).await?;
    let (to, value) = (args.to.unwrap_or(key.address), args.amount);
    let progress = flags::spinner(
        args.json,
        format!("withdrawing {} ETH on L2", format_ether(value)),
    );
    let receipt = bridge::withdraw(&l2, &key, to, value, PATIENCE).await;
    progress.finish_and_clear();
    Ok(flags::report(
        args.json,
        &bridge::Withdrawn::read(&l2, &receipt?).await?,
    )?)
}

fn now() -> u64 {
    tandem_primitives::Clock::unix_seconds(&tandem_primitives::SystemClock)
}

async fn status(args: StatusArgs) -> eyre::Result<()> {
    let l2 = Client::new(&args.layers.l2_rpc)?;
    let statuses = bridge::status(&l2, args.tx_hash).await?;
    if args.json {
        println!("{}", serde_json::to_string(&statuses)?);
    }
    for s in statuses.iter().filter(|_| !args.json) {
        println!("{}", s.describe(now()));
    }
    Ok(())
}

async fn finalize(args: FinalizeArgs) -> eyre::Result<()> {
    let (l1, l2, key) = connect(&args.layers, &args.signer).await?;
    let progress = flags::spinner(args.json, "checking the withdrawal".into());
    let poll = (!args.no_wait).then_some(Duration::from_secs(1));
    let finalized =
        bridge::finalize_when_ready((&l1, &l2), &key, args.tx_hash, poll, PATIENCE, |s| {
            progress.set_message(match bridge::finalizable(s) {
                true => "proving and paying out on L1".into(),
                false => s[0].describe(now()),
            })
        })
        .await;
    progress.finish_and_clear();
    Ok(flags::report(args.json, &finalized?)?)
}
