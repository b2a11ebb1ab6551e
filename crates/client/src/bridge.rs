//! Moving ETH between the layers through L1's Portal and L2's message passer: a deposit, a
//! withdrawal, where a withdrawal stands, and its payout on L1 once an output covering it is final.
use crate::{
    Client, ClientError, L1, Result, RpcReceipt, succeeded,
    types::{Stage, WithdrawalProof, WithdrawalStatus},
};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, SolEvent};
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

/// Polls the withdrawals of `hash` every `poll` until all are finalizable, handing each status
/// seen to `seen`. Fails if all were already paid out.
pub async fn wait_finalizable(
    l2: &Client,
    hash: B256,
    poll: Duration,
    mut seen: impl FnMut(&[WithdrawalStatus]),
) -> Result<Vec<WithdrawalStatus>> {
    loop {
        let statuses = status(l2, hash).await?;
        if statuses.iter().all(|s| s.stage == Stage::Finalized) {
            return Err(ClientError::Failed(format!(
                "every withdrawal of {hash} is already finalized"
            )));
        }
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
        let receipt = l1
            .transact(key, PORTAL, U256::ZERO, proof.calldata(), patience)
            .await?;
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
