//! Where a withdrawal stands, and the proof that pays it out on L1.
use crate::{Error, Result, outputs::output_at};
use alloy_primitives::B256;
use alloy_sol_types::SolEvent;
pub use tandem_client::types::{Stage, WithdrawalArgs, WithdrawalProof, WithdrawalStatus};
use tandem_client::{L1, Oracle};
use tandem_execution::system::{IL2ToL1MessagePasser, IPortal, message_passer::sent_message_slot};
use tandem_primitives::{
    protocol::Withdrawal,
    system::{L2_TO_L1_MESSAGE_PASSER, PORTAL},
};
use tandem_storage::{Reader, Storage};

/// The withdrawals `tx_hash` initiated on L2 (empty if it initiated none); an error if L2 does
/// not have the transaction.
pub fn withdrawals_of(reader: &Reader, tx_hash: B256) -> Result<(u64, Vec<Withdrawal>)> {
    let Some(at) = reader.tx_location(tx_hash)? else {
        return Err(Error::Config(format!("L2 has no transaction {tx_hash}")));
    };
    let (number, index) = (at.block, at.index);
    let receipt = reader
        .receipt(at)?
        .ok_or_else(|| Error::Corrupt(format!("receipt {index} of L2 block {number} missing")))?;
    let withdrawals = receipt
        .logs()
        .iter()
        .filter(|log| log.address == L2_TO_L1_MESSAGE_PASSER)
        .filter_map(|log| IL2ToL1MessagePasser::MessagePassed::decode_log_data(&log.data).ok())
        .map(|event| Withdrawal::from_event(&event))
        .collect();
    Ok((number, withdrawals))
}

/// The stage of each withdrawal `tx_hash` initiated.
pub async fn withdrawal_status(
    storage: &Storage,
    l1: &impl L1,
    tx_hash: B256,
) -> Result<Vec<WithdrawalStatus>> {
    let (number, withdrawals) = withdrawals_of(&storage.read()?, tx_hash)?;
    let oracle = Oracle::new(l1.clone());
    let output = oracle.covering(number).await?;
    let finalized_count = oracle.finalized_count().await?;
    let mut out = Vec::with_capacity(withdrawals.len());
    for w in withdrawals {
        let hash = w.hash();
        let paid = l1
            .call_sol(
                PORTAL,
                &IPortal::finalizedWithdrawalsCall {
                    withdrawalHash: hash,
                },
            )
            .await?;
        let stage = match output {
            _ if paid => Stage::Finalized,
            Some(o) if o.index < finalized_count => Stage::Finalizable,
            Some(_) => Stage::InOutput,
            None => Stage::Initiated,
        };
        out.push(WithdrawalStatus {
            transaction_hash: tx_hash,
            l2_block: number,
            withdrawal_hash: hash,
            nonce: w.nonce,
            sender: w.sender,
            target: w.target,
            value: w.value,
            gas_limit: w.gas_limit,
            stage,
            output,
            challenge_window_ends_at: output.map(|o| o.final_at),
        });
    }
    Ok(out)
}

/// The proofs of the withdrawals `tx_hash` initiated against output `output_index` (by default
/// the newest final output, whose block this node surely still has the state of).
pub async fn withdrawal_proofs(
    storage: &Storage,
    l1: &impl L1,
    tx_hash: B256,
    output_index: Option<u64>,
) -> Result<Vec<WithdrawalProof>> {
    let (number, withdrawals) = withdrawals_of(&storage.read()?, tx_hash)?;
    let oracle = Oracle::new(l1.clone());
    let index = match output_index {
        Some(index) => index,
        None => {
            let finalized = oracle.finalized_count().await?;
            finalized.checked_sub(1).ok_or_else(|| {
                Error::Config("no output is final yet: wait for the challenge window".into())
            })?
        }
    };
    let posted = oracle.output(index, 0).await?;
    if posted.l2_block_number < number {
        return Err(Error::Config(format!(
            "output {index} covers L2 blocks up to {}, the withdrawal is in block {number}: wait for a later output",
            posted.l2_block_number
        )));
    }
    let reader = storage.read()?;
    let output = output_at(&reader, posted.l2_block_number)?.ok_or_else(|| {
        Error::Config(format!(
            "this node does not have L2 block {}",
            posted.l2_block_number
        ))
    })?;
    let slots: Vec<B256> = withdrawals
        .iter()
        .map(|w| B256::from(sent_message_slot(w.hash())))
        .collect();
    let proof = tandem_state::prove(&reader, output.state_root, L2_TO_L1_MESSAGE_PASSER, &slots)
        .map_err(|e| {
            Error::Config(format!(
                "cannot prove against L2 block {}: {e}",
                output.block_number
            ))
        })?;
    Ok(withdrawals
        .into_iter()
        .zip(proof.storage)
        .map(|(w, slot)| WithdrawalProof {
            withdrawal: WithdrawalArgs {
                nonce: w.nonce,
                sender: w.sender,
                target: w.target,
                value: w.value,
                gas_limit: w.gas_limit,
                data: w.data,
            },
            output_index: index,
            output_root_proof: output,
            withdrawal_proof: slot.proof,
        })
        .collect())
}
