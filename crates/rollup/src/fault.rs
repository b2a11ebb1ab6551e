//! Testing only: the ways a node, a proposer or a batcher can be made wrong on purpose, so that
//! the fault proofs have something to remove (`tandem l2 verifier --fault`, `tandem l2 proposer
//! --fault`, `tandem devnet --faulty-batcher`). No honest path reads any of this.
use crate::Result;
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::SolCall;
use tandem_client::types::Proposal;
use tandem_execution::{
    l2::{L2Block, L2BlockInputs, L2Error, derive_l2_block, execute_l2_block, sanitize},
    system::IL2ToL1MessagePasser,
};
use tandem_primitives::protocol::{blocks_root, output_root};
use tandem_primitives::{ChainConfig, StoredTx, TxEnvelope, system::L2_TO_L1_MESSAGE_PASSER};
use tandem_state::{LatestState, StateReader};

/// The fault of `name` in a table of named faults, or an error listing them.
fn named<T: Copy>(name: &str, table: &[(&str, T)]) -> std::result::Result<T, String> {
    table
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, fault)| *fault)
        .ok_or_else(|| {
            let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            format!("unknown fault {name:?}: one of {}", names.join(", "))
        })
}

/// Testing only: how a faulty node derives blocks wrong, so a challenger has something to
/// remove. Each goes wrong at the first block that has what it needs (a deposit, a sequenced
/// transaction), or at every block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DerivationFault {
    /// Leaves the Portal's queue out (deposits and forced transactions).
    SkipDeposits,
    /// Runs a block's first two due queue entries in swapped order.
    ReorderDeposits,
    /// Leaves each block's last sequenced transaction out.
    DropTransaction,
    /// Adds a transaction of its own (dev account [`FAULT_ACCOUNT`]) to each block that has a
    /// sequenced one.
    ExtraTransaction,
    /// Records one gas more than used in each block that has a sequenced transaction.
    GasUsed,
    /// Turns a block's first due deposit into 1,000 ETH minted from nothing to dev account
    /// [`FAULT_ACCOUNT`], which withdraws [`FORGED_WITHDRAWAL_WEI`] of it in the same block.
    ForgedWithdrawal,
    /// Runs a batch block that breaks a rule with its transactions (derivation leaves them out).
    InvalidBatch,
    /// Runs each block one second late.
    Timestamp,
    /// Prices L1 data at twice the origin's base fee.
    L1Fee,
    /// Takes a different hash for each block's L1 origin.
    L1Origin,
}

/// The dev account a faulty node signs its own transactions with.
pub const FAULT_ACCOUNT: usize = 6;
/// What a [`DerivationFault::ForgedWithdrawal`] node withdraws.
pub const FORGED_WITHDRAWAL_WEI: u128 = 1_000_000_000_000_000;

impl DerivationFault {
    const NAMES: [(&str, Self); 10] = [
        ("skip-deposits", Self::SkipDeposits),
        ("reorder-deposits", Self::ReorderDeposits),
        ("drop-transaction", Self::DropTransaction),
        ("extra-transaction", Self::ExtraTransaction),
        ("gas-used", Self::GasUsed),
        ("forged-withdrawal", Self::ForgedWithdrawal),
        ("invalid-batch", Self::InvalidBatch),
        ("timestamp", Self::Timestamp),
        ("l1-fee", Self::L1Fee),
        ("l1-origin", Self::L1Origin),
    ];
}

impl std::str::FromStr for DerivationFault {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        named(s, &Self::NAMES)
    }
}

impl DerivationFault {
    /// `inputs` gone wrong this way, on a parent whose post-state `state` reads.
    pub(crate) fn apply(
        self,
        inputs: &mut L2BlockInputs,
        state: &impl StateReader,
        chain: &ChainConfig,
    ) -> Result<()> {
        use alloy_consensus::TxEip1559;
        use alloy_primitives::{TxKind, U256};
        let account = &tandem_primitives::dev::accounts()[FAULT_ACCOUNT];
        let nonce = || -> Result<u64> {
            Ok(state
                .account(account.address)
                .map_err(tandem_execution::Error::State)?
                .map(|a| a.nonce)
                .unwrap_or_default())
        };
        let own = |nonce: u64, to: Address, value: u128, input: Bytes| StoredTx {
            sender: account.address,
            tx: account.sign(TxEip1559 {
                chain_id: chain.chain_id,
                nonce,
                gas_limit: 100_000,
                max_fee_per_gas: 100_000_000_000,
                max_priority_fee_per_gas: 0,
                to: TxKind::Call(to),
                value: U256::from(value),
                input,
                access_list: Default::default(),
            }),
        };
        match self {
            Self::SkipDeposits => inputs.queue.clear(),
            Self::ReorderDeposits => {
                // Two the block takes: both due at its origin (the offer runs past what is due).
                let due = inputs.l1_origin.number;
                if let [first, second, ..] = &mut inputs.queue[..]
                    && second.l1_block <= due
                {
                    std::mem::swap(&mut first.tx, &mut second.tx);
                }
            }
            Self::DropTransaction => {
                inputs.transactions.pop();
            }
            Self::ExtraTransaction if !inputs.transactions.is_empty() => {
                let tx = own(nonce()?, account.address, 1, Bytes::new());
                inputs.transactions.push(tx);
            }
            Self::ForgedWithdrawal => {
                // The first entry the block takes (the offer runs past what is due).
                let due = inputs.l1_origin.number;
                let Some(entry) = inputs.queue.first_mut().filter(|e| e.l1_block <= due) else {
                    return Ok(());
                };
                let TxEnvelope::Deposit(deposit) = &entry.tx.tx else {
                    return Ok(());
                };
                let mut minted = deposit.inner().clone();
                minted.from = account.address;
                minted.to = TxKind::Call(account.address);
                minted.mint = 1_000 * 10u128.pow(18);
                minted.value = U256::ZERO;
                minted.input = Bytes::new();
                entry.tx = StoredTx {
                    sender: account.address,
                    tx: TxEnvelope::Deposit(alloy_primitives::Sealed::new(minted)),
                };
                let withdraw = IL2ToL1MessagePasser::initiateWithdrawalCall {
                    to: account.address,
                    gasLimit: 100_000,
                    data: Bytes::new(),
                };
                // The deposit takes the account's next nonce.
                let tx = own(
                    nonce()? + 1,
                    L2_TO_L1_MESSAGE_PASSER,
                    FORGED_WITHDRAWAL_WEI,
                    withdraw.abi_encode().into(),
                );
                inputs.transactions.push(tx);
            }
            Self::Timestamp => inputs.timestamp += 1,
            Self::L1Fee => inputs.l1_origin.base_fee = inputs.l1_origin.base_fee.saturating_mul(2),
            Self::L1Origin => {
                inputs.l1_origin.hash = alloy_primitives::keccak256(inputs.l1_origin.hash)
            }
            Self::ExtraTransaction | Self::GasUsed | Self::InvalidBatch => {}
        }
        Ok(())
    }

    /// Runs a block as this faulty node does: [`derive_l2_block`], with the block's record or its
    /// rules gone wrong where the fault is there.
    pub(crate) fn derive(
        self,
        state: &tandem_storage::Reader,
        chain: &ChainConfig,
        parent: &tandem_primitives::Header,
        inputs: &L2BlockInputs,
    ) -> std::result::Result<(L2Block, Option<L2Error>), L2Error> {
        let derived = match self {
            Self::InvalidBatch => match sanitize(inputs, parent, &LatestState(state), chain)? {
                Some((mut instead, broken)) => {
                    instead.transactions = inputs.transactions.clone();
                    let block = execute_l2_block(
                        state.into(),
                        LatestState(state),
                        chain,
                        parent,
                        &instead,
                    )?;
                    (block, Some(broken))
                }
                None => derive_l2_block(state.into(), LatestState(state), chain, parent, inputs)?,
            },
            _ => derive_l2_block(state.into(), LatestState(state), chain, parent, inputs)?,
        };
        let (mut block, broken) = derived;
        if self == Self::GasUsed && !inputs.transactions.is_empty() {
            let mut wrong = block.executed.block.block;
            wrong.header.gas_used += 1;
            block.executed.block = tandem_primitives::SealedBlock::seal(wrong);
        }
        Ok((block, broken))
    }
}

/// What a faulty proposer gets wrong in the last block of every output it posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFault {
    StateRoot,
    StorageRoot,
    BlockHash,
    /// A wrong state root, then the next output right, in one go: the right one builds on the
    /// wrong one and goes with it.
    ValidAfterWrong,
    /// Right outputs of whatever chain the node has, built on whatever L1 holds: skips the honest
    /// proposer's check that the newest output agrees with its chain, so a proposer on a faulty
    /// node posts that node's outputs.
    BuildOnL1,
}

impl OutputFault {
    const NAMES: [(&str, Self); 5] = [
        ("state-root", Self::StateRoot),
        ("storage-root", Self::StorageRoot),
        ("block-hash", Self::BlockHash),
        ("valid-after-wrong", Self::ValidAfterWrong),
        ("build-on-l1", Self::BuildOnL1),
    ];
}

impl std::str::FromStr for OutputFault {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        named(s, &Self::NAMES)
    }
}

impl OutputFault {
    /// `proposal` with its last block's output wrong this way.
    pub fn apply(self, mut proposal: Proposal) -> Proposal {
        if self == Self::BuildOnL1 {
            return proposal;
        }
        let flip = |h: B256| B256::from(U256::from_be_bytes(h.0) ^ U256::from(1));
        let o = &mut proposal.output;
        match self {
            Self::StateRoot | Self::ValidAfterWrong => o.state_root = flip(o.state_root),
            Self::StorageRoot => {
                o.message_passer_storage_root = flip(o.message_passer_storage_root)
            }
            Self::BlockHash => o.block_hash = flip(o.block_hash),
            Self::BuildOnL1 => {}
        }
        o.output_root = output_root(o.state_root, o.message_passer_storage_root, o.block_hash);
        if let Some(last) = proposal.block_roots.last_mut() {
            *last = proposal.output.output_root;
        }
        proposal.blocks_root = blocks_root(&proposal.block_roots);
        proposal
    }
}

/// A block with a transaction to this address is the one a faulty batcher posts breaking a rule.
pub const FAULT_MARKER: Address =
    alloy_primitives::address!("0x000000000000000000000000000000000000fa17");
