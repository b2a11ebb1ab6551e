//! The challenger: compares every output proposed on L1 with the node's own chain (derived from
//! L1) and, for the first block of an output whose claimed root is wrong, builds the one
//! DisputeGame call that proves it: the claims with their Merkle proofs, the parent's output, the
//! batch, the L1 origin's header, the due queue entries and the block's witness.
use crate::{
    AddressTable, Batch, BatchBlock, Error, Limits, Result,
    batch::{AddressBook, BatchError},
    derivation::block_inputs,
    outputs::{Oracle, output_at},
    queue::PortalQueue,
    service::{Pace, Service},
};
use alloy_eips::{BlockNumberOrTag, eip2718::Encodable2718};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_rpc_types_eth::Filter;
use alloy_sol_types::{SolCall, SolEvent};
use parking_lot::Mutex;
use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
    time::Duration,
};
pub use tandem_client::types::ChallengerStatus;
use tandem_client::{
    L1,
    logs::{AcceptedBatches, LogWalk},
};
use tandem_execution::{
    l2::{L1Origin, L2BlockInputs},
    system::{IBatchInbox, IDisputeGame, IOutputOracle},
    witness::execution_witness_for,
};
use tandem_primitives::protocol::{block_root_proof, blocks_root};
use tandem_primitives::{
    ChainConfig, Header,
    dev::DevAccount,
    system::{DISPUTE_GAME, OUTPUT_ORACLE},
};
use tandem_storage::{Reader, Storage};

/// An output as its proposer claimed it: its index, first block and every block's output root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub index: u64,
    pub first_block: u64,
    pub roots: Vec<B256>,
}

impl Claim {
    pub fn last_block(&self) -> u64 {
        self.first_block + self.roots.len() as u64 - 1
    }
}

/// What the node's own chain says of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every block's claimed root is the node's.
    Agrees,
    /// The first block whose claimed root is not the node's.
    Wrong(u64),
    /// The node has not derived this block yet.
    Behind(u64),
}

/// Compares `claim` block by block with the node's chain.
pub fn check(reader: &Reader, claim: &Claim) -> Result<Verdict> {
    for (i, claimed) in claim.roots.iter().enumerate() {
        let number = claim.first_block + i as u64;
        match output_at(reader, number)? {
            None => return Ok(Verdict::Behind(number)),
            Some(own) if own.output_root != *claimed => return Ok(Verdict::Wrong(number)),
            Some(_) => {}
        }
    }
    Ok(Verdict::Agrees)
}

/// Where a block's inputs sit on L1: the batch that carries it and its L1 origin's header.
#[derive(Debug, Clone)]
pub struct OnL1 {
    pub batch_sequence: u64,
    pub batch: Bytes,
    pub origin_header: Header,
}

/// The DisputeGame call that challenges block `number` of `claim`. `inputs` are the block's inputs
/// as derivation took them (its batch block, origin and due queue); the node must hold the block's
/// parent state for the witness.
pub fn challenge(
    reader: &Reader,
    chain: &ChainConfig,
    claim: &Claim,
    number: u64,
    on_l1: &OnL1,
    inputs: &L2BlockInputs,
) -> Result<IDisputeGame::Challenge> {
    let at = number
        .checked_sub(claim.first_block)
        .filter(|at| *at < claim.roots.len() as u64)
        .ok_or_else(|| Error::Config(format!("block {number} is not in output {}", claim.index)))?
        as usize;
    let parent = output_at(reader, number - 1)?
        .ok_or_else(|| Error::Config(format!("the node lacks L2 block {}", number - 1)))?;
    let witness = execution_witness_for(reader, chain, number, inputs)
        .map_err(|e| Error::Config(format!("witness of L2 block {number}: {e}")))?
        .for_execute();
    // The queue entries the block took, and the one after: the state transition decides.
    let header = |n: u64| {
        reader
            .header(n)?
            .ok_or_else(|| Error::Config(format!("the node lacks L2 block {n}")))
    };
    let queue = tandem_execution::l2::queue_for_challenge(
        &inputs.queue,
        &header(number - 1)?,
        &header(number)?,
    )
    .iter()
    .map(|entry| Bytes::from(entry.tx.tx.encoded_2718()))
    .collect();
    Ok(IDisputeGame::Challenge {
        outputIndex: alloy_primitives::U256::from(claim.index),
        l2BlockNumber: number,
        claimedRoot: claim.roots[at],
        claimedProof: block_root_proof(&claim.roots, at),
        parent: IDisputeGame::OutputRootProof {
            stateRoot: parent.state_root,
            messagePasserStorageRoot: parent.message_passer_storage_root,
            blockHash: parent.block_hash,
        },
        parentProof: match at {
            0 => Vec::new(),
            _ => block_root_proof(&claim.roots, at - 1),
        },
        batchSequence: on_l1.batch_sequence,
        batch: on_l1.batch.clone(),
        l1OriginHeader: alloy_rlp::encode(&on_l1.origin_header).into(),
        queue,
        witness: alloy_rlp::encode(&witness).into(),
    })
}

/// The challenger service: signs challenges with `key`, checks L1 every `poll`.
#[derive(Debug, Clone)]
pub struct ChallengerConfig {
    pub key: DevAccount,
    pub poll: Duration,
}

/// One accepted batch as the challenger keeps it: where its bytes are and what it carries.
#[derive(Debug, Clone, Copy)]
struct KnownBatch {
    first: u64,
    last: u64,
    table_before: u64,
    l1_tx: B256,
}

/// The first `count` entries of an address table: the table as it stood before a batch.
struct TableBefore<'a> {
    table: &'a AddressTable,
    count: u64,
}

impl AddressBook for TableBefore<'_> {
    fn count(&self) -> u64 {
        self.count
    }

    fn address(&self, index: u64) -> std::result::Result<Option<Address>, BatchError> {
        Ok((index < self.count)
            .then(|| self.table.get(index))
            .flatten())
    }

    fn holds(&self, address: &Address) -> std::result::Result<bool, BatchError> {
        Ok(self.table.position(address).is_some_and(|p| p < self.count))
    }
}

/// What the challenger follows on L1: the accepted batches (with the address table they build)
/// and the Portal's queue.
struct Follower<L> {
    l1: L,
    chain: ChainConfig,
    batcher: Address,
    batches: BTreeMap<u64, KnownBatch>,
    accepted: AcceptedBatches,
    queue: PortalQueue,
    /// Outputs already found right, by index and root (a deleted index may come back).
    agreed: HashSet<(u64, B256)>,
    /// Outputs this challenger challenged and lost: L1 found the output right and this node's
    /// chain wrong. Never challenged again (each try would cost a bond); the node needs looking at.
    lost: HashSet<(u64, B256)>,
    /// Every block root claimed, by output index and their Merkle root, read as far as
    /// `claims_walk` went.
    claims: HashMap<(u64, B256), Vec<B256>>,
    claims_walk: LogWalk,
}

impl<L: L1> Follower<L> {
    /// Reads the batches L1 accepted up to finalized block `to`.
    async fn sync(&mut self, to: u64) -> Result<()> {
        let known = &mut self.batches;
        self.accepted
            .read_to(&self.l1, self.chain.chain_id, Some(self.batcher), to, |a| {
                let Ok(decoded) = a.decoded else { return };
                if let (Some(first), Some(last)) = (decoded.blocks.first(), decoded.blocks.last()) {
                    known.insert(
                        a.batch.sequence,
                        KnownBatch {
                            first: first.number,
                            last: last.number,
                            table_before: a.table_before,
                            l1_tx: a.l1_transaction,
                        },
                    );
                }
            })
            .await?;
        Ok(())
    }

    /// The accepted batch carrying L2 block `number`: its sequence, bytes and the block.
    async fn batch_of(&self, number: u64) -> Result<Option<(u64, Bytes, BatchBlock)>> {
        let Some((sequence, known)) = self
            .batches
            .range(..)
            .rev()
            .find(|(_, b)| (b.first..=b.last).contains(&number))
        else {
            return Ok(None);
        };
        let tx =
            self.l1.transaction(known.l1_tx).await?.ok_or_else(|| {
                Error::Corrupt(format!("batch transaction {} missing", known.l1_tx))
            })?;
        let input = alloy_consensus::Transaction::input(tx.inner.inner.inner());
        let call = IBatchInbox::submitBatchCall::abi_decode(input)
            .map_err(|e| Error::Corrupt(format!("batch transaction {}: {e}", known.l1_tx)))?;
        let before = TableBefore {
            table: self.accepted.table(),
            count: known.table_before,
        };
        let (decoded, _) = Batch::decode(
            &call.batch,
            self.chain.chain_id,
            &Limits::default(),
            &before,
        )
        .map_err(|e| Error::Corrupt(format!("batch {sequence}: {e}")))?;
        let block = decoded.blocks.into_iter().find(|b| b.number == number);
        Ok(block.map(|block| (*sequence, call.batch, block)))
    }

    /// Reads the block roots of every output proposed up to L1 block `to`.
    async fn sync_claims(&mut self, to: u64) -> Result<()> {
        while let Some(window) = self.claims_walk.next(&self.l1, to).await? {
            for log in &window.logs {
                // OutputOracle emits nothing else under this signature: one that does not decode
                // is the node's garbling, and skipping it could miss a wrong output.
                let event = IOutputOracle::OutputBlockRoots::decode_log_data(log.data())
                    .map_err(|e| Error::Corrupt(format!("OutputBlockRoots log: {e}")))?;
                if event.blockRoots.is_empty() {
                    continue;
                }
                let index = event.index.saturating_to::<u64>();
                self.claims
                    .insert((index, blocks_root(&event.blockRoots)), event.blockRoots);
            }
            self.claims_walk.done(&window);
        }
        Ok(())
    }

    /// The claim of output `index` (ending at L2 block `last`) whose roots have the stored Merkle
    /// root, as its OutputBlockRoots log gave them.
    fn claim(&self, index: u64, last: u64, stored_root: B256) -> Option<Claim> {
        let roots = self.claims.get(&(index, stored_root))?;
        Some(Claim {
            index,
            first_block: last.checked_add(1)?.checked_sub(roots.len() as u64)?,
            roots: roots.clone(),
        })
    }

    /// Forgets the claims of outputs below `index` (final: nothing to challenge).
    fn forget_below(&mut self, index: u64) {
        self.claims.retain(|(i, _), _| *i >= index);
        self.agreed.retain(|(i, _)| *i >= index);
        self.lost.retain(|(i, _)| *i >= index);
    }
}

/// The challenger on the node's `storage` (a verifier's: derived from L1 alone): checks every
/// output that is not final yet against the node's chain and challenges the first wrong block of
/// each wrong one.
pub struct Challenger<L> {
    storage: Arc<Storage>,
    chain: ChainConfig,
    l1: L,
    config: ChallengerConfig,
    status: Arc<Mutex<ChallengerStatus>>,
    /// What it read from L1 so far; `None` until it knows the batcher.
    follower: Option<Follower<L>>,
}

impl<L: L1> Challenger<L> {
    pub fn new(storage: Arc<Storage>, chain: ChainConfig, l1: L, config: ChallengerConfig) -> Self {
        Self {
            storage,
            chain,
            l1,
            config,
            status: Arc::default(),
            follower: None,
        }
    }
}

impl<L: L1> Service for Challenger<L> {
    type Status = ChallengerStatus;
    const NAME: &'static str = "challenger";

    fn poll(&self) -> Duration {
        self.config.poll
    }

    fn status(&self) -> &Arc<Mutex<ChallengerStatus>> {
        &self.status
    }

    async fn round(&mut self) -> Result<Pace> {
        let f = match &mut self.follower {
            Some(f) => f,
            None => self.follower.insert(Follower {
                batcher: crate::derivation::batcher_address(&self.l1).await?,
                l1: self.l1.clone(),
                chain: self.chain.clone(),
                batches: BTreeMap::new(),
                accepted: AcceptedBatches::default(),
                queue: PortalQueue::default(),
                agreed: HashSet::new(),
                lost: HashSet::new(),
                claims: HashMap::new(),
                claims_walk: LogWalk::new(
                    Filter::new()
                        .address(OUTPUT_ORACLE)
                        .event_signature(IOutputOracle::OutputBlockRoots::SIGNATURE_HASH),
                    0,
                ),
            }),
        };
        check_outputs(f, &self.storage, &self.config, &self.status).await?;
        self.status.lock().last_error = None;
        Ok(Pace::Wait)
    }
}

async fn check_outputs<L: L1>(
    f: &mut Follower<L>,
    storage: &Storage,
    config: &ChallengerConfig,
    status: &Mutex<ChallengerStatus>,
) -> Result<()> {
    let oracle = Oracle::new(f.l1.clone());
    let (count, finalized) = (oracle.count().await?, oracle.finalized_count().await?);
    f.forget_below(finalized);
    // Nothing up to the last final output's block can be challenged: forget its batches and
    // queue entries, so memory follows what is still open.
    if let Some(last_final) = finalized.checked_sub(1) {
        let block = oracle.output(last_final, 0).await?.l2_block_number;
        if let Some(header) = storage.read()?.header(block)? {
            f.queue
                .prune_below(tandem_execution::l2::L1Origin::queue_index_of(&header));
            f.batches.retain(|_, b| b.last > block);
        }
    }
    let head =
        f.l1.origin(BlockNumberOrTag::Latest)
            .await?
            .map(|o| o.number);
    f.sync_claims(head.unwrap_or_default()).await?;
    // Batches and the queue follow L1 every round, so a challenge never waits on history.
    let finalized_l1 = f.l1.finalized().await?.number;
    f.sync(finalized_l1).await?;
    f.queue.sync(&f.l1, finalized_l1).await?;
    for index in finalized..count {
        let output =
            f.l1.call_sol(
                OUTPUT_ORACLE,
                &IOutputOracle::getOutputCall {
                    index: U256::from(index),
                },
            )
            .await?;
        if f.agreed.contains(&(index, output.outputRoot))
            || f.lost.contains(&(index, output.outputRoot))
        {
            continue;
        }
        let Some(claim) = f.claim(index, output.l2BlockNumber, output.blocksRoot) else {
            // Every proposal logs its block roots, and the claims were read up to a block at or
            // after this output's: the node's answers left the log out. Passing over the output
            // could let a wrong one become final: read the claims again.
            f.claims_walk.rewind(0);
            return Err(Error::Corrupt(format!(
                "the block roots of output {index} are missing from L1's logs; reading them again"
            )));
        };
        let verdict = check(&storage.read()?, &claim)?;
        let number = match verdict {
            Verdict::Agrees => {
                f.agreed.insert((index, output.outputRoot));
                status.lock().agreed += 1;
                continue;
            }
            // The node has not derived this far: look again next round.
            Verdict::Behind(_) => return Ok(()),
            Verdict::Wrong(number) => number,
        };
        tracing::warn!(target: "rollup::challenger", index, block = number, "output claims a wrong root; challenging");
        let Some((batch_sequence, batch, block)) = f.batch_of(number).await? else {
            return Err(Error::Corrupt(format!(
                "no accepted batch carries L2 block {number}"
            )));
        };
        let raw = f.l1.raw_header(block.l1_origin).await?;
        let raw = raw.ok_or_else(|| Error::Corrupt(format!("no L1 block {}", block.l1_origin)))?;
        let origin_header: Header = alloy_rlp::decode_exact(&raw)
            .map_err(|e| Error::Corrupt(format!("L1 header {}: {e}", block.l1_origin)))?;
        let origin = L1Origin {
            number: origin_header.number,
            hash: keccak256(&raw),
            timestamp: origin_header.timestamp,
            base_fee: origin_header.base_fee_per_gas.unwrap_or_default(),
        };
        let c = {
            let reader = storage.read()?;
            let parent = reader
                .header(number - 1)?
                .ok_or_else(|| Error::Corrupt(format!("L2 block {} missing", number - 1)))?;
            let inputs = block_inputs(block, origin, &f.queue, &parent);
            let on_l1 = OnL1 {
                batch_sequence,
                batch,
                origin_header,
            };
            challenge(&reader, &f.chain, &claim, number, &on_l1, &inputs)?
        };
        let bond: U256 =
            f.l1.call_sol(DISPUTE_GAME, &IDisputeGame::bondCall {})
                .await?;
        let input = IDisputeGame::challengeCall { c }.abi_encode();
        let receipt =
            f.l1.transact(
                &config.key,
                DISPUTE_GAME,
                bond,
                input.into(),
                Duration::from_secs(60),
            )
            .await?;
        if !tandem_client::succeeded(&receipt) {
            // Someone else's challenge (or the window) got there first: look again next round.
            tracing::warn!(target: "rollup::challenger", index, block = number, l1_tx = %receipt.transaction_hash, "challenge reverted");
            return Ok(());
        }
        let won = receipt
            .inner
            .logs()
            .iter()
            .find_map(|l| IDisputeGame::Challenged::decode_log_data(l.data()).ok())
            .is_some_and(|e| e.won);
        tracing::info!(target: "rollup::challenger", index, block = number, won, l1_tx = %receipt.transaction_hash, "challenge settled");
        if !won {
            tracing::error!(target: "rollup::challenger", index, block = number, "L1 found the output right and this node's chain wrong: not challenging it again; check this node");
            f.lost.insert((index, output.outputRoot));
        }
        let mut s = status.lock();
        s.challenged += 1;
        s.won += u64::from(won);
        s.last_challenge = Some((index, number, receipt.transaction_hash));
        // Later outputs went with this one (if it lost): start over next round.
        return Ok(());
    }
    Ok(())
}
