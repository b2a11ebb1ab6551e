//! `tandem bridge ...`: move ETH between the layers through the Portal and the message passer,
//! tokens and messages through the standard bridges and the messengers, follow a withdrawal
//! through its stages to its payout (or relay) on L1, and relay a failed message again.
use alloy_primitives::{
    Address, B256, U256,
    utils::{format_ether, parse_ether},
};
use std::time::Duration;
use tandem_client::cli as flags;
use tandem_client::{
    Client, bridge,
    messages::{self, Layer},
};
use tandem_primitives::{ChainConfig, dev::DevAccount};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: BridgeCommand,
}

#[derive(Debug, clap::Subcommand)]
enum BridgeCommand {
    /// Deposit ETH (through the Portal), a token (--token, through the standard bridge) or a
    /// message (--message, through the messengers) from L1 into L2; waits until L2 runs it.
    Deposit(MoveArgs),
    /// Start a withdrawal of ETH, a token (--token) or a message (--message) from L2 to L1;
    /// finalize it on L1 once an output covering it is past its challenge window.
    Withdraw(MoveArgs),
    /// Where a withdrawal (or a message to L1) stands: initiated, in an output (and when its
    /// window ends), finalizable, finalized.
    Status(StatusArgs),
    /// Pay out a withdrawal, or relay a message or token withdrawal, on L1 with its proof; waits
    /// for the challenge window if it must.
    Finalize(FinalizeArgs),
    /// Relay again, with more gas, the messages a transaction sent whose relay failed on the
    /// other layer (anyone may; a message succeeds once).
    Relay(RelayArgs),
}

#[derive(Debug, clap::Args)]
struct MoveArgs {
    /// How much: ETH (e.g. 0.5), or with --token that token in its own units (its decimals). With
    /// --message, the ETH the message carries (none by default).
    #[arg(long, value_name = "AMOUNT", required_unless_present = "message")]
    amount: Option<String>,
    /// Move this ERC-20 (its address on the sending layer) through the standard bridge: a token
    /// native to the sending layer is locked (the bridge is approved first if it must be), a
    /// representation minted by the bridge is burnt.
    #[arg(long, value_name = "ADDRESS", conflicts_with = "message")]
    token: Option<Address>,
    /// Send a message: call TARGET with CALLDATA (hex) on the other layer, through the messengers;
    /// the receiver reads the sender with xDomainMessageSender().
    #[arg(long, num_args = 2, value_names = ["TARGET", "CALLDATA"], conflicts_with = "to")]
    message: Option<Vec<String>>,
    /// The least gas the call on the other layer gets (a message: 200,000; a token: 1,500,000).
    #[arg(long, value_name = "GAS")]
    min_gas_limit: Option<u32>,
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
    /// The L2 transaction that initiated the withdrawal (or, with --from l1, the L1 transaction
    /// that sent messages or tokens to L2).
    tx_hash: B256,
    /// With l1: where the messages (and token moves) an L1 transaction sent stand on L2.
    #[arg(long, value_enum, default_value = "l2")]
    from: Layer,
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

#[derive(Debug, clap::Args)]
struct RelayArgs {
    /// The transaction that sent the messages.
    tx_hash: B256,
    /// The layer that transaction is on (its messages are relayed on the other).
    #[arg(long, value_enum, default_value = "l1")]
    from: Layer,
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
        BridgeCommand::Deposit(args) if args.token.is_some() || args.message.is_some() => {
            send(args, Layer::L1).await
        }
        BridgeCommand::Withdraw(args) if args.token.is_some() || args.message.is_some() => {
            send(args, Layer::L2).await
        }
        BridgeCommand::Deposit(args) => deposit(args).await,
        BridgeCommand::Withdraw(args) => withdraw(args).await,
        BridgeCommand::Status(args) => status(args).await,
        BridgeCommand::Finalize(args) => finalize(args).await,
        BridgeCommand::Relay(args) => relay(args).await,
    }
}

/// A token or a message from `layer` to the other, through the bridge or the messengers.
async fn send(args: MoveArgs, layer: Layer) -> eyre::Result<()> {
    let (l1, l2, key) = connect(&args.layers, &args.signer).await?;
    let client = match layer {
        Layer::L1 => &l1,
        Layer::L2 => &l2,
    };
    let progress = flags::spinner(args.json, format!("sending on {layer:?}"));
    let receipt = match (&args.token, &args.message) {
        (Some(token), _) => {
            let amount = args.amount.as_deref().unwrap_or_default();
            let units = messages::token_units(client, *token, amount).await?;
            let to = args.to.unwrap_or(key.address);
            let gas = args.min_gas_limit.unwrap_or(messages::TOKEN_MIN_GAS);
            messages::send_token(client, layer, &key, (*token, units), to, gas, PATIENCE).await
        }
        (None, Some(message)) => {
            let target: Address = message[0]
                .parse()
                .map_err(|_| eyre::eyre!("--message: {:?} is not an address", message[0]))?;
            let calldata: alloy_primitives::Bytes = message[1]
                .parse()
                .map_err(|_| eyre::eyre!("--message: {:?} is not hex calldata", message[1]))?;
            let value = match &args.amount {
                Some(amount) => ether(amount).map_err(|e| eyre::eyre!("--amount: {e}"))?,
                None => U256::ZERO,
            };
            let gas = args.min_gas_limit.unwrap_or(messages::MESSAGE_MIN_GAS);
            messages::send_message(
                client,
                layer,
                &key,
                (target, calldata),
                value,
                gas,
                PATIENCE,
            )
            .await
        }
        (None, None) => unreachable!("send takes a token or a message"),
    };
    let receipt = receipt?;
    progress.set_message(match layer {
        Layer::L1 => "waiting for L2 to run the deposit".to_string(),
        Layer::L2 => "reading what L2 recorded".to_string(),
    });
    let mut sent = messages::follow(&l2, layer, &receipt, PATIENCE).await;
    if let (Ok(sent), Some(token)) = (&mut sent, args.token) {
        sent.token = Some(token);
        sent.amount = args.amount.clone();
    }
    progress.finish_and_clear();
    Ok(flags::report(args.json, &sent?)?)
}

async fn relay(args: RelayArgs) -> eyre::Result<()> {
    let (l1, l2, key) = connect(&args.layers, &args.signer).await?;
    let progress = flags::spinner(args.json, "relaying failed messages".into());
    let relayed = messages::relay_failed((&l1, &l2), args.from, args.tx_hash, &key, PATIENCE).await;
    progress.finish_and_clear();
    let relayed = relayed?;
    if args.json {
        println!("{}", serde_json::to_string(&relayed)?);
    } else {
        relayed.iter().for_each(|r| print!("{r}"));
    }
    Ok(())
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

/// `--amount` in ETH.
fn eth_amount(args: &MoveArgs) -> eyre::Result<U256> {
    let amount = args.amount.as_deref().unwrap_or_default();
    ether(amount).map_err(|e| eyre::eyre!("--amount: {e}"))
}

async fn deposit(args: MoveArgs) -> eyre::Result<()> {
    let value = eth_amount(&args)?;
    let (l1, l2, key) = connect(&args.layers, &args.signer).await?;
    let to = args.to.unwrap_or(key.address);
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
    let value = eth_amount(&args)?;
    let (_, l2, key) = connect(&args.layers, &args.signer).await?;
    let to = args.to.unwrap_or(key.address);
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
    if args.from == Layer::L1 {
        let (l1, l2) = (
            Client::new(&args.layers.l1_rpc)?,
            Client::new(&args.layers.l2_rpc)?,
        );
        let statuses = messages::status((&l1, &l2), Layer::L1, args.tx_hash).await?;
        if args.json {
            println!("{}", serde_json::to_string(&statuses)?);
        } else {
            statuses.iter().for_each(|s| print!("{s}"));
        }
        return Ok(());
    }
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
