//! `tandem bridge ...`: move ETH between the layers through the Portal and the message passer,
//! and follow a withdrawal through its stages to its payout on L1.
use alloy_primitives::{
    Address, B256, U256,
    utils::{format_ether, parse_ether},
};
use eyre::{WrapErr, bail, eyre};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tandem_client::{
    Client, bridge, succeeded,
    types::{Stage, WithdrawalStatus},
};
use tandem_primitives::{ChainConfig, dev};

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

/// Where the layers are.
#[derive(Debug, clap::Args)]
struct Endpoints {
    /// L1's JSON-RPC URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8545")]
    l1_rpc: String,
    /// An L2 node's JSON-RPC URL (sequencer or verifier).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9545")]
    l2_rpc: String,
    /// Print the result as JSON, for scripts.
    #[arg(long)]
    json: bool,
}

/// Who signs.
#[derive(Debug, clap::Args)]
struct Signer {
    /// The signer's private key (hex).
    #[arg(
        long,
        env = "TANDEM_PRIVATE_KEY",
        value_name = "HEX",
        hide_env_values = true,
        conflicts_with = "mnemonic_index"
    )]
    private_key: Option<String>,
    /// Dev account N of the standard dev mnemonic (dev chains only; account 0 when neither is given).
    #[arg(long, value_name = "N")]
    mnemonic_index: Option<usize>,
}

#[derive(Debug, clap::Args)]
struct MoveArgs {
    /// How much, in ETH (e.g. 0.5).
    #[arg(long, value_name = "ETH")]
    amount: String,
    /// The recipient on the other layer (the signer by default).
    #[arg(long, value_name = "ADDRESS")]
    to: Option<Address>,
    #[command(flatten)]
    signer: Signer,
    #[command(flatten)]
    endpoints: Endpoints,
}

#[derive(Debug, clap::Args)]
struct StatusArgs {
    /// The L2 transaction that initiated the withdrawal.
    tx_hash: B256,
    #[command(flatten)]
    endpoints: Endpoints,
}

#[derive(Debug, clap::Args)]
struct FinalizeArgs {
    /// The L2 transaction that initiated the withdrawal.
    tx_hash: B256,
    /// Fail at once if the withdrawal is not finalizable yet, instead of waiting.
    #[arg(long)]
    no_wait: bool,
    #[command(flatten)]
    signer: Signer,
    #[command(flatten)]
    endpoints: Endpoints,
}

pub(crate) async fn run(args: Args) -> eyre::Result<()> {
    match args.command {
        BridgeCommand::Deposit(args) => deposit(args).await,
        BridgeCommand::Withdraw(args) => withdraw(args).await,
        BridgeCommand::Status(args) => status(args).await,
        BridgeCommand::Finalize(args) => finalize(args).await,
    }
}

/// The signer: a given key, a dev account by index, or dev account 0 on a dev chain.
async fn signer(signer: &Signer, l1: &Client) -> eyre::Result<dev::DevAccount> {
    let dev_chain = signer.private_key.is_none()
        && signer.mnemonic_index.is_none()
        && l1.chain_id().await? == ChainConfig::L1_DEV_CHAIN_ID;
    key(
        signer.private_key.as_deref(),
        signer.mnemonic_index.or(dev_chain.then_some(0)),
    )
}

/// A key from `--private-key HEX` or `--mnemonic-index N` (a dev account).
pub(crate) fn key(
    private_key: Option<&str>,
    mnemonic_index: Option<usize>,
) -> eyre::Result<dev::DevAccount> {
    match (private_key, mnemonic_index) {
        (Some(hex), _) => {
            let secret: B256 = hex
                .trim()
                .parse()
                .wrap_err("--private-key must be 32 bytes of hex")?;
            dev::DevAccount::from_secret(secret)
                .ok_or_else(|| eyre!("--private-key is not a valid secp256k1 key"))
        }
        (None, Some(index)) => dev::accounts()
            .get(index)
            .cloned()
            .ok_or_else(|| eyre!("--mnemonic-index must be below {}", dev::accounts().len())),
        (None, None) => bail!("give --private-key (or --mnemonic-index on a dev chain)"),
    }
}

fn amount(text: &str) -> eyre::Result<U256> {
    let wei =
        parse_ether(text).wrap_err_with(|| format!("--amount {text:?} is not an amount of ETH"))?;
    if wei.is_zero() {
        bail!("--amount must be more than zero");
    }
    Ok(wei)
}

fn spinner(show: bool, message: String) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
            .expect("a valid template"),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar.set_message(message);
    bar
}

fn show_progress(json: bool) -> bool {
    !json && std::io::IsTerminal::is_terminal(&std::io::stderr())
}

/// Gas a deposit asks for on L2: enough for a transfer to a contract that logs it.
const PATIENCE: Duration = Duration::from_secs(120);

async fn deposit(args: MoveArgs) -> eyre::Result<()> {
    let e = &args.endpoints;
    let (l1, l2) = (Client::new(&e.l1_rpc)?, Client::new(&e.l2_rpc)?);
    let key = signer(&args.signer, &l1).await?;
    let value = amount(&args.amount)?;
    let to = args.to.unwrap_or(key.address);
    let progress = spinner(
        show_progress(e.json),
        format!("depositing {} ETH on L1", format_ether(value)),
    );
    let deposit = bridge::deposit(&l1, &key, to, value, PATIENCE).await?;
    let receipt = &deposit.l1;
    progress.set_message(format!(
        "L1 block {} queued deposit {}; waiting for L2 to include it (once that block is final)",
        receipt.block_number.unwrap_or_default(),
        deposit.queue_index
    ));
    let l2_tx = deposit.l2_transaction;
    let l2_receipt = l2
        .wait_receipt(l2_tx, PATIENCE)
        .await
        .wrap_err("waiting for the deposit on L2")?;
    progress.finish_and_clear();
    let result = serde_json::json!({
        "l1Transaction": receipt.transaction_hash,
        "l1Block": receipt.block_number,
        "queueIndex": deposit.queue_index,
        "from": deposit.from,
        "to": to,
        "amountWei": value.to_string(),
        "l2Transaction": l2_tx,
        "l2Block": l2_receipt.block_number,
        "l2CallSucceeded": succeeded(&l2_receipt),
    });
    if e.json {
        println!("{result}");
    } else {
        println!(
            "Deposited {} ETH to {to} on L2\n  L1 transaction {} (block {})\n  L2 transaction {} (block {}){}",
            format_ether(value),
            receipt.transaction_hash,
            receipt.block_number.unwrap_or_default(),
            l2_tx,
            l2_receipt.block_number.unwrap_or_default(),
            if succeeded(&l2_receipt) {
                ""
            } else {
                "\n  the L2 call reverted; the ETH was minted all the same"
            }
        );
    }
    Ok(())
}

async fn withdraw(args: MoveArgs) -> eyre::Result<()> {
    let e = &args.endpoints;
    let (l1, l2) = (Client::new(&e.l1_rpc)?, Client::new(&e.l2_rpc)?);
    let key = signer(&args.signer, &l1).await?;
    let value = amount(&args.amount)?;
    let to = args.to.unwrap_or(key.address);
    let progress = spinner(
        show_progress(e.json),
        format!("withdrawing {} ETH on L2", format_ether(value)),
    );
    let receipt = bridge::withdraw(&l2, &key, to, value, PATIENCE).await;
    progress.finish_and_clear();
    let receipt = receipt?;
    let hash = receipt.transaction_hash;
    let statuses = bridge::status(&l2, hash).await?;
    if e.json {
        println!(
            "{}",
            serde_json::json!({ "l2Transaction": hash, "l2Block": receipt.block_number, "withdrawals": statuses })
        );
    } else {
        println!(
            "Withdrawal of {} ETH to {to} initiated on L2\n  L2 transaction {hash} (block {})\n  next: `tandem bridge finalize {hash}` once an output covering it is past its challenge window",
            format_ether(value),
            receipt.block_number.unwrap_or_default()
        );
    }
    Ok(())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn describe(s: &WithdrawalStatus) -> String {
    let stage = match s.stage {
        Stage::Initiated => "initiated: waiting for an output root that covers it".to_string(),
        Stage::InOutput => {
            let ends = s.challenge_window_ends_at.unwrap_or_default();
            format!(
                "in output {}: challenge window ends at {ends} (in {} s)",
                s.output.map(|o| o.index).unwrap_or_default(),
                ends.saturating_sub(now())
            )
        }
        Stage::Finalizable => "finalizable: the output is final".into(),
        Stage::Finalized => "finalized: paid out on L1".into(),
    };
    format!(
        "{} ETH to {} ({}): {stage}",
        format_ether(s.value),
        s.target,
        s.withdrawal_hash
    )
}

async fn status(args: StatusArgs) -> eyre::Result<()> {
    let l2 = Client::new(&args.endpoints.l2_rpc)?;
    let statuses = bridge::status(&l2, args.tx_hash).await?;
    if args.endpoints.json {
        println!("{}", serde_json::to_string(&statuses)?);
    } else {
        for s in &statuses {
            println!("{}", describe(s));
        }
    }
    Ok(())
}

async fn finalize(args: FinalizeArgs) -> eyre::Result<()> {
    let e = &args.endpoints;
    let (l1, l2) = (Client::new(&e.l1_rpc)?, Client::new(&e.l2_rpc)?);
    let key = signer(&args.signer, &l1).await?;
    let progress = spinner(show_progress(e.json), "checking the withdrawal".into());
    let ready = if args.no_wait {
        let statuses = bridge::status(&l2, args.tx_hash).await;
        match statuses {
            Ok(s) if s.iter().all(|s| s.stage == Stage::Finalized) => Err(eyre!(
                "every withdrawal of {} is already finalized",
                args.tx_hash
            )),
            Ok(s) if !bridge::finalizable(&s) => {
                Err(eyre!("not finalizable yet: {}", describe(&s[0])))
            }
            other => other.map(drop).map_err(Into::into),
        }
    } else {
        bridge::wait_finalizable(&l2, args.tx_hash, Duration::from_secs(1), |s| {
            progress.set_message(describe(&s[0]))
        })
        .await
        .map(drop)
        .map_err(Into::into)
    };
    if let Err(e) = ready {
        progress.finish_and_clear();
        return Err(e);
    }
    progress.set_message("proving and paying out on L1".to_string());
    let paid = bridge::finalize(&l1, &l2, &key, args.tx_hash, PATIENCE).await;
    progress.finish_and_clear();
    let paid: Vec<_> = paid?
        .into_iter()
        .map(|(proof, receipt)| {
            serde_json::json!({
                "target": proof.withdrawal.target,
                "valueWei": proof.withdrawal.value.to_string(),
                "outputIndex": proof.output_index,
                "l1Transaction": receipt.transaction_hash,
                "l1Block": receipt.block_number,
                "gasUsed": receipt.gas_used,
                "effectiveGasPrice": receipt.effective_gas_price.to_string(),
            })
        })
        .collect();
    if e.json {
        println!(
            "{}",
            serde_json::json!({ "l2Transaction": args.tx_hash, "finalized": paid })
        );
    } else {
        for p in &paid {
            println!(
                "Paid out on L1 to {} in {}",
                p["target"].as_str().unwrap_or_default(),
                p["l1Transaction"].as_str().unwrap_or_default()
            );
        }
    }
    Ok(())
}
