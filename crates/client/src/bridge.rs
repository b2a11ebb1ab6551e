//! Moving ETH between the layers through L1's Portal and L2's message passer: a deposit, a
//! withdrawal, where a withdrawal stands, and its payout on L1 once an output covering it is final.
use crate::{
    Client, ClientError, L1, Result, RpcReceipt, succeeded,
    types::{Stage, WithdrawalProof, WithdrawalStatus},
};
use alloy_primitives::{Address, B256, Bytes, U256, utils::format_ether};
use alloy_sol_types::{SolCall, SolEvent};
use serde::Serialize;
use std::time::Duration;
use tandem_primitives::{
    abi::{IL2ToL1MessagePasser, IPortal},
    dev::DevAccount,
    protocol::deposit_transaction,
    system::{L2_TO_L1_MESSAGE_PASSER, PORTAL},
};

/// The L2 gas a deposit or withdrawal of ETH alone asks for.
pub const TRANSFER_GAS: u64 = 100_000;

/// A deposit L1 has queued.
#[derive(Debug, Clone)]
pub struct Deposit {
    /// The L1 transaction's receipt.
    pub l1: RpcReceipt,
    pub queue_index: u64,
    pub from: Address,
    pub to: Address,
    pub value: U256,
    /// The hash of the deposit transaction L2 will include.
    pub l2_transaction: B256,
}

/// Deposits `value` wei from `key` on L1 to `to` on L2 (a plain transfer), and returns once L1
/// has queued it.
pub async fn deposit(
    l1: &impl L1,
    key: &DevAccount,
    to: Address,
    value: U256,
    patience: Duration,
) -> Result<Deposit> {
    let call = IPortal::depositTransactionCall {
        to,
        value,
        gasLimit: TRANSFER_GAS,
        data: Bytes::new(),
    };
    let receipt = l1
        .transact(key, PORTAL, value, call.abi_encode().into(), patience)
        .await?;
    if !succeeded(&receipt) {
        return Err(ClientError::Failed(format!(
            "the deposit reverted on L1: {}",
            receipt.transaction_hash
        )));
    }
    let event = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| IPortal::TransactionDeposited::decode_log_data(log.data()).ok())
        .ok_or_else(|| {
            ClientError::Unexpected(
                "the deposit's L1 receipt has no TransactionDeposited event".into(),
            )
        })?;
    let l2_transaction = deposit_transaction(
        event.index,
        event.from,
        event.to,
        event.mint,
        event.value,
        event.gasLimit,
        event.data.clone(),
    )
    .tx_hash();
    Ok(Deposit {
        l1: receipt,
        queue_index: event.index,
        from: event.from,
        to,
        value,
        l2_transaction,
    })
}

/// A deposit L2 has run: what `tandem bridge deposit` reports.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Deposited {
    pub l1_transaction: B256,
    pub l1_block: Option<u64>,
    pub queue_index: u64,
    pub from: Address,
    pub to: Address,
    /// Decimal, as JSON numbers cannot hold every amount.
    pub amount_wei: String,
    pub l2_transaction: B256,
    pub l2_block: Option<u64>,
    /// Whether the L2 call succeeded (the ETH is minted either way).
    pub l2_call_succeeded: bool,
}

/// [`deposit`], then waits until L2 has run it. `queued` hears when L1 has queued it.
pub async fn deposit_and_wait(
    (l1, l2): (&Client, &Client),
    key: &DevAccount,
    to: Address,
    value: U256,
    patience: Duration,
    queued: impl FnOnce(&Deposit),
) -> Result<Deposited> {
    let deposit = deposit(l1, key, to, value, patience).await?;
    queued(&deposit);
    let l2_receipt = l2.wait_receipt(deposit.l2_transaction, patience).await?;
    Ok(Deposited {
        l1_transaction: deposit.l1.transaction_hash,
        l1_block: deposit.l1.block_number,
        queue_index: deposit.queue_index,
        from: deposit.from,
        to,
        amount_wei: value.to_string(),
        l2_transaction: deposit.l2_transaction,
        l2_block: l2_receipt.block_number,
        l2_call_succeeded: succeeded(&l2_receipt),
    })
}

impl std::fmt::Display for Deposited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value: U256 = self.amount_wei.parse().unwrap_or_default();
        writeln!(
            f,
            "Deposited {} ETH to {} on L2",
            format_ether(value),
            self.to
        )?;
        let block = |b: Option<u64>| b.unwrap_or_default();
        writeln!(
            f,
            "  L1 transaction {} (block {})",
            self.l1_transaction,
            block(self.l1_block)
        )?;
        writeln!(
            f,
            "  L2 transaction {} (block {})",
            self.l2_transaction,
            block(self.l2_block)
        )?;
        if !self.l2_call_succeeded {
            writeln!(f, "  the L2 call reverted; the ETH was minted all the same")?;
        }
        Ok(())
    }
}

/// A withdrawal paid out on L1: what `tandem bridge finalize` reports for each.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Payout {
    pub target: Address,
    /// Decimal.
    pub value_wei: String,
    pub output_index: u64,
    pub l1_transaction: B256,
    pub l1_block: Option<u64>,
    pub gas_used: u64,
    /// Decimal.
    pub effective_gas_price: String,
}

impl Payout {
    pub fn new(proof: &WithdrawalProof, receipt: &RpcReceipt) -> Self {
        Self {
            target: proof.withdrawal.target,
            value_wei: proof.withdrawal.value.to_string(),
            output_index: proof.output_index,
            l1_transaction: receipt.transaction_hash,
            l1_block: receipt.block_number,
            gas_used: receipt.gas_used,
            effective_gas_price: receipt.effective_gas_price.to_string(),
        }
    }
}

/// A withdrawal L2 has recorded: what `tandem bridge withdraw` reports.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Withdrawn {
    pub l2_transaction: B256,
    pub l2_block: Option<u64>,
    pub withdrawals: Vec<WithdrawalStatus>,
}

impl Withdrawn {
    /// The withdrawals the L2 transaction of `receipt` started.
    pub async fn read(l2: &Client, receipt: &RpcReceipt) -> Result<Self> {
        Ok(Self {
            l2_transaction: receipt.transaction_hash,
            l2_block: receipt.block_number,
            withdrawals: status(l2, receipt.transaction_hash).await?,
        })
    }
}

impl std::fmt::Display for Withdrawn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hash = self.l2_transaction;
        for w in &self.withdrawals {
            let value = format_ether(w.value);
            writeln!(
                f,
                "Withdrawal of {value} ETH to {} initiated on L2",
                w.target
            )?;
        }
        writeln!(
            f,
            "  L2 transaction {hash} (block {})",
            self.l2_block.unwrap_or_default()
        )?;
        writeln!(
            f,
            "  next: `tandem bridge finalize {hash}` once an output covering it is past its challenge window"
        )
    }
}

/// Withdrawals paid out on L1: what `tandem bridge finalize` reports.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finalized {
    pub l2_transaction: B256,
    pub finalized: Vec<Payout>,
}

impl std::fmt::Display for Finalized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for p in &self.finalized {
            writeln!(f, "Paid out on L1 to {} in {}", p.target, p.l1_transaction)?;
        }
        Ok(())
    }
}

/// [`finalize`] once every withdrawal of `hash` is finalizable: polling every `poll` until it is
/// (handing each status seen to `seen`), or failing at once if it is not yet and `poll` is `None`.
pub async fn finalize_when_ready(
    (l1, l2): (&Client, &Client),
    key: &DevAccount,
    hash: B256,
    poll: Option<Duration>,
    patience: Duration,
    mut seen: impl FnMut(&[WithdrawalStatus]),
) -> Result<Finalized> {
    match poll {
        Some(poll) => drop(wait_finalizable(l2, hash, poll, &mut seen).await?),
        None => {
            let statuses = unpaid(l2, hash).await?;
            if !finalizable(&statuses) {
                use tandem_primitives::Clock;
                let stands = statuses[0].describe(tandem_primitives::SystemClock.unix_seconds());
                return Err(ClientError::Failed(format!(
                    "not finalizable yet: {stands}"
                )));
            }
            seen(&statuses);
        }
    }
    let paid = finalize(l1, l2, key, hash, patience).await?;
    Ok(Finalized {
        l2_transaction: hash,
        finalized: paid.iter().map(|(p, r)| Payout::new(p, r)).collect(),
    })
}

/// Starts a withdrawal of `value` wei from `key` on L2 to `to` on L1; the L2 receipt.
pub async fn withdraw(
    l2: &Client,
    key: &DevAccount,
    to: Address,
    value: U256,
    patience: Duration,
) -> Result<RpcReceipt> {
    let call = IL2ToL1MessagePasser::initiateWithdrawalCall {
        to,
        gasLimit: TRANSFER_GAS,
        data: Bytes::new(),
    };
    let receipt = l2
        .transact(
            key,
            L2_TO_L1_MESSAGE_PASSER,
            value,
            call.abi_encode().into(),
            patience,
        )
        .await?;
    if !succeeded(&receipt) {
        return Err(ClientError::Failed(format!(
            "the withdrawal reverted on L2: {}",
            receipt.transaction_hash
        )));
    }
    Ok(receipt)
}

/// Where each withdrawal L2 transaction `hash` initiated stands; an error if it initiated none.
pub async fn status(l2: &Client, hash: B256) -> Result<Vec<WithdrawalStatus>> {
    let statuses: Vec<WithdrawalStatus> =
        l2.request_json("tandem_withdrawalStatus", [hash]).await?;
    if statuses.is_empty() {
        return Err(ClientError::Failed(format!(
            "L2 transaction {hash} initiated no withdrawal"
        )));
    }
    Ok(statuses)
}

/// Whether every withdrawal can be paid out (or already was).
pub fn finalizable(statuses: &[WithdrawalStatus]) -> bool {
    statuses
        .iter()
        .all(|s| matches!(s.stage, Stage::Finalizable | Stage::Finalized))
}

/// Where the withdrawals of `hash` stand, when some are still to be paid out; an error if every
/// one already was.
pub async fn unpaid(l2: &Client, hash: B256) -> Result<Vec<WithdrawalStatus>> {
    let statuses = status(l2, hash).await?;
    if statuses.iter().all(|s| s.stage == Stage::Finalized) {
        return Err(ClientError::Failed(format!(
            "every withdrawal of {hash} is already finalized"
        )));
    }
    Ok(statuses)
}

/// Polls the withdrawals of `hash` every `poll` until all are finalizable, handing each status
/// seen to `seen`. Fails if all were already paid out.
pub async fn wait_finalizable(
    l2: &Client,
    hash: B256,
    poll: Duration,
    mut seen: impl FnMut(&[WithdrawalStatus]),
) -> Result<Vec<WithdrawalStatus>> {
    loop {
        let statuses = unpaid(l2, hash).await?;
        seen(&statuses);
        if finalizable(&statuses) {
            return Ok(statuses);
        }
        tokio::time::sleep(poll).await;
    }
}

/// Proves each withdrawal of `hash` against the newest final output and pays it out on L1,
/// signed by `key`: each proof with its L1 receipt.
pub async fn finalize(
    l1: &Client,
    l2: &Client,
    key: &DevAccount,
    hash: B256,
    patience: Duration,
) -> Result<Vec<(WithdrawalProof, RpcReceipt)>> {
    let proofs: Vec<WithdrawalProof> = l2.request_json("tandem_withdrawalProof", [hash]).await?;
    if proofs.is_empty() {
        return Err(ClientError::Failed(format!(
            "L2 transaction {hash} initiated no withdrawal"
        )));
    }
    let mut paid = Vec::with_capacity(proofs.len());
    for proof in proofs {
        // A message goes through the L1 messenger, which relays its call; ETH through the Portal.
        let (to, calldata) = proof.call();
        let receipt = l1.transact(key, to, U256::ZERO, calldata, patience).await?;
        if !succeeded(&receipt) {
            return Err(ClientError::Failed(format!(
                "finalizing reverted on L1: {}",
                receipt.transaction_hash
            )));
        }
        paid.push((proof, receipt));
    }
    Ok(paid)
}
