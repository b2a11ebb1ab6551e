//! What the rollup page shows, read from L1: the batches BatchInbox accepted (decoded in order
//! with the chain-wide address table, for their L2 block ranges and sizes), and the outputs
//! OutputOracle holds. Kept in a bounded index that grows as L1 does.
use crate::rpc::{Node, RpcResult, b256, bytes, quantity};
use alloy_primitives::{Address, B256};
use alloy_sol_types::{SolCall, SolEvent};
use std::collections::VecDeque;
use tandem_client::logs::{Accepted, AcceptedBatches, LOG_WINDOW};
use tandem_primitives::abi::IOutputOracle;
use tandem_primitives::system::OUTPUT_ORACLE;

/// Most batches the index remembers (older ones drop off; the address table stays whole).
const MAX_BATCHES: usize = 5_000;

/// One batch on L1.
#[derive(Debug, Clone)]
pub struct BatchInfo {
    pub sequence: u64,
    pub l1_block: u64,
    pub l1_transaction: B256,
    pub first_block: u64,
    pub last_block: u64,
    pub transactions: usize,
    /// The batch's transactions, encoded, before the codec.
    pub raw_bytes: usize,
    /// The batch as posted (compressed).
    pub bytes: usize,
    /// Why the batch was not decodable, if it was not (derivation skips it).
    pub invalid: Option<String>,
}

impl BatchInfo {
    fn of(accepted: &Accepted<'_>) -> Self {
        let batch = accepted.batch;
        let mut info = Self {
            sequence: batch.sequence,
            l1_block: batch.l1_block,
            l1_transaction: accepted.l1_transaction,
            first_block: 0,
            last_block: 0,
            transactions: 0,
            raw_bytes: 0,
            bytes: batch.data.len(),
            invalid: None,
        };
        match accepted.decoded {
            Ok(decoded) => {
                info.first_block = decoded.blocks.first().map(|b| b.number).unwrap_or_default();
                info.last_block = decoded.blocks.last().map(|b| b.number).unwrap_or_default();
                for block in &decoded.blocks {
                    info.transactions += block.transactions.len();
                    info.raw_bytes += block
                        .transactions
                        .iter()
                        .map(alloy_eips::eip2718::Encodable2718::encode_2718_len)
                        .sum::<usize>();
                }
            }
            Err(e) => info.invalid = Some(e.to_string()),
        }
        info
    }

    pub fn ratio(&self) -> String {
        if self.bytes == 0 || self.raw_bytes == 0 {
            return "-".into();
        }
        format!("{:.1}x", self.raw_bytes as f64 / self.bytes as f64)
    }
}

/// The batches read so far.
#[derive(Debug, Default)]
pub struct BatchIndex {
    accepted: AcceptedBatches,
    batches: VecDeque<BatchInfo>,
}

impl BatchIndex {
    /// Reads the batches posted since the last call, up to L1's head.
    pub async fn update(&mut self, l1: &Node, l2_chain_id: u64) -> RpcResult<()> {
        let head = l1.head().await?;
        let batches = &mut self.batches;
        self.accepted
            .read_to(l1.client(), l2_chain_id, None, head, |accepted| {
                if batches.len() >= MAX_BATCHES {
                    batches.pop_front();
                }
                batches.push_back(BatchInfo::of(&accepted));
            })
            .await
            .map_err(|e| l1.failed(e))
    }

    /// The newest `n` batches, newest first.
    pub fn newest(&self, n: usize) -> Vec<BatchInfo> {
        self.batches.iter().rev().take(n).cloned().collect()
    }

    pub fn get(&self, sequence: u64) -> Option<BatchInfo> {
        self.batches
            .iter()
            .find(|b| b.sequence == sequence)
            .cloned()
    }

    /// The batch that carried L2 block `number`.
    pub fn carrying(&self, number: u64) -> Option<BatchInfo> {
        self.batches
            .iter()
            .rev()
            .find(|b| b.invalid.is_none() && b.first_block <= number && number <= b.last_block)
            .cloned()
    }
}

/// One challenge settled by the DisputeGame.
#[derive(Debug, Clone)]
pub struct DisputeInfo {
    pub l1_block: u64,
    pub l1_transaction: B256,
    pub output_index: u64,
    pub l2_block: u64,
    pub challenger: Address,
    pub won: bool,
    pub claimed_root: B256,
    pub true_root: B256,
}

/// The newest `n` challenges of the last 10,000 L1 blocks, newest first.
pub async fn disputes(l1: &Node, n: usize) -> RpcResult<Vec<DisputeInfo>> {
    use tandem_primitives::abi::IDisputeGame;
    let head = l1.head().await?;
    let logs = l1
        .logs(
            tandem_primitives::system::DISPUTE_GAME,
            IDisputeGame::Challenged::SIGNATURE_HASH,
            head.saturating_sub(LOG_WINDOW * 5 - 1),
            head,
        )
        .await?;
    let mut out = Vec::new();
    for log in logs.iter().rev().take(n) {
        let topics: Vec<B256> = log["topics"]
            .as_array()
            .map(|t| t.iter().filter_map(b256).collect())
            .unwrap_or_default();
        let data = bytes(&log["data"]).unwrap_or_default();
        let event = alloy_primitives::LogData::new(topics, data.into())
            .and_then(|d| IDisputeGame::Challenged::decode_log_data(&d).ok());
        let (Some(event), Some(l1_block), Some(l1_transaction)) = (
            event,
            quantity(&log["blockNumber"]),
            b256(&log["transactionHash"]),
        ) else {
            return Err(l1.malformed("an unreadable Challenged log"));
        };
        out.push(DisputeInfo {
            l1_block,
            l1_transaction,
            output_index: event.outputIndex.saturating_to(),
            l2_block: event.l2BlockNumber,
            challenger: event.challenger,
            won: event.won,
            claimed_root: event.claimedRoot,
            true_root: event.trueRoot,
        });
    }
    Ok(out)
}

/// One output on L1.
#[derive(Debug, Clone)]
pub struct OutputInfo {
    pub index: u64,
    pub output_root: B256,
    pub l2_block: u64,
    pub proposer: Address,
    pub l1_transaction: Option<B256>,
    /// L1 time it is final at.
    pub final_at: u64,
    /// Seconds of L1 time until then, at L1's head (0 once final).
    pub final_in: u64,
    pub status: &'static str,
}

/// The newest `n` outputs OutputOracle holds, newest first, with their status at L1's head.
pub async fn outputs(l1: &Node, n: u64) -> RpcResult<(u64, Vec<OutputInfo>)> {
    let view = |data: Vec<u8>| {
        let call = serde_json::json!({ "to": OUTPUT_ORACLE, "data": alloy_primitives::hex::encode_prefixed(data) });
        l1.eth_call(call, "latest".into())
    };
    let read = |r: Result<Vec<u8>, (String, Option<Vec<u8>>)>| {
        r.map_err(|(message, _)| l1.malformed(format!("OutputOracle: {message}")))
    };
    let count = read(view(IOutputOracle::outputCountCall {}.abi_encode()).await?)?;
    let count = IOutputOracle::outputCountCall::abi_decode_returns(&count)
        .map_err(|e| l1.malformed(e.to_string()))?
        .saturating_to::<u64>();
    let window = read(view(IOutputOracle::challengeWindowCall {}.abi_encode()).await?)?;
    let window = IOutputOracle::challengeWindowCall::abi_decode_returns(&window)
        .map_err(|e| l1.malformed(e.to_string()))?;
    let finalized = read(view(IOutputOracle::finalizedCountCall {}.abi_encode()).await?)?;
    let finalized = IOutputOracle::finalizedCountCall::abi_decode_returns(&finalized)
        .map_err(|e| l1.malformed(e.to_string()))?
        .saturating_to::<u64>();
    let now = match l1
        .block(crate::rpc::BlockId::Number(l1.head().await?), false)
        .await?
    {
        Some(head) => quantity(&head["timestamp"]).unwrap_or_default(),
        None => 0,
    };
    let mut out = Vec::new();
    for index in (count.saturating_sub(n)..count).rev() {
        let call = IOutputOracle::getOutputCall {
            index: alloy_primitives::U256::from(index),
        };
        let o = read(view(call.abi_encode()).await?)?;
        let o = IOutputOracle::getOutputCall::abi_decode_returns(&o)
            .map_err(|e| l1.malformed(e.to_string()))?;
        out.push(OutputInfo {
            index,
            output_root: o.outputRoot,
            l2_block: o.l2BlockNumber,
            proposer: o.proposer,
            l1_transaction: None,
            final_at: o.timestamp.saturating_add(window),
            final_in: o.timestamp.saturating_add(window).saturating_sub(now),
            status: if index < finalized {
                "final"
            } else {
                "in challenge window"
            },
        });
    }
    Ok((window, out))
}
