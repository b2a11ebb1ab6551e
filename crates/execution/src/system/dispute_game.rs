//! DisputeGame (L1): settles a dispute over one L2 block of an output in one call. The challenger
//! proves the claims (against the output's blocksRoot), the block's inputs (against BatchInbox,
//! L1's headers and the Portal's queue) and gives a witness; EXECUTE re-executes the block and
//! the claim stands or falls. See `contracts/IDisputeGame.sol`.
use super::{
    Call, batch_inbox, execute,
    output_oracle::{
        self, COUNT_SLOT, INTERVAL_SLOT, MIN_BOND_SLOT, WINDOW_SLOT, field, output_slot,
    },
    portal,
};
use crate::{
    l2::{L1Origin, L2BlockInputs, QueuedTx},
    stateless::OutputPreimage,
};
use alloy_eips::eip2718::Decodable2718;
use alloy_sol_types::{SolCall, SolError, SolEvent};
use revm::{
    context_interface::ContextTr,
    precompile::PrecompileOutput,
    primitives::{Address, B256, U256, keccak256},
};
use tandem_primitives::{
    Header, TxEnvelope,
    system::{OUTPUT_ORACLE, PORTAL},
};

pub use tandem_primitives::abi::IDisputeGame;

/// The L2 genesis output root (set at genesis).
pub const GENESIS_OUTPUT_SLOT: U256 = U256::ZERO;
/// The share of a wrong output's bond that is burnt rather than paid to its challenger, so a
/// proposer gains nothing by challenging itself.
pub const BURN_DIVISOR: u64 = 4;

pub(crate) fn call<CTX: ContextTr>(call: &mut Call<'_, CTX>) -> Result<PrecompileOutput, String> {
    use IDisputeGame::IDisputeGameCalls as Calls;
    let decoded = match call.decode::<Calls>() {
        Ok(decoded) => decoded,
        Err(revert) => return call.revert(revert),
    };
    let challenging = matches!(decoded, Calls::challenge(_));
    if (!challenging && !call.value.is_zero()) || (challenging && call.is_static) {
        return call.revert(IDisputeGame::NotAllowed {}.abi_encode());
    }
    let output = match decoded {
        Calls::bond(_) => IDisputeGame::bondCall::abi_encode_returns(
            &call.sload_at(OUTPUT_ORACLE, MIN_BOND_SLOT)?,
        ),
        Calls::genesisOutputRoot(_) => IDisputeGame::genesisOutputRootCall::abi_encode_returns(
            &B256::from(call.sload(GENESIS_OUTPUT_SLOT)?),
        ),
        Calls::challenge(c) => match challenge(call, c.c)? {
            Ok(won) => IDisputeGame::challengeCall::abi_encode_returns(&won),
            Err(revert) => return call.revert(revert),
        },
    };
    call.finish(output)
}

type Verdict = Result<bool, Vec<u8>>;

fn bad_proof(what: &str) -> Vec<u8> {
    IDisputeGame::BadProof { what: what.into() }.abi_encode()
}

fn challenge<CTX: ContextTr>(
    call: &mut Call<'_, CTX>,
    c: IDisputeGame::Challenge,
) -> Result<Verdict, String> {
    // The bond.
    let minimum = call.sload_at(OUTPUT_ORACLE, MIN_BOND_SLOT)?;
    if call.value < minimum {
        return Ok(Err(IDisputeGame::BondTooLow {
            minimum,
            got: call.value,
        }
        .abi_encode()));
    }
    // The output, not final yet.
    let count = call.sload_at(OUTPUT_ORACLE, COUNT_SLOT)?;
    if c.outputIndex >= count {
        return Ok(Err(IDisputeGame::OutputNotFound {
            index: c.outputIndex,
        }
        .abi_encode()));
    }
    let index = c.outputIndex.saturating_to::<u64>();
    let read =
        |call: &mut Call<'_, CTX>, f: u64| call.sload_at(OUTPUT_ORACLE, output_slot(index, f));
    let proposed_at: u64 = read(call, field::TIMESTAMP)?.saturating_to();
    let window: u64 = call.sload_at(OUTPUT_ORACLE, WINDOW_SLOT)?.saturating_to();
    if proposed_at.saturating_add(window) <= call.timestamp() {
        return Ok(Err(IDisputeGame::OutputFinal {
            index: c.outputIndex,
        }
        .abi_encode()));
    }
    // The block is in the output, and the claims for it and its parent are the output's.
    let interval: u64 = call
        .sload_at(OUTPUT_ORACLE, INTERVAL_SLOT)?
        .saturating_to::<u64>()
        .max(1);
    let last: u64 = read(call, field::NUMBER)?.saturating_to();
    let first = last.saturating_add(1).saturating_sub(interval.min(last));
    let number = c.l2BlockNumber;
    if number < first || number > last {
        return Ok(Err(
            IDisputeGame::BlockNotInOutput { first, last }.abi_encode()
        ));
    }
    let blocks_root: B256 = read(call, field::BLOCKS_ROOT)?.into();
    let at = number - first;
    call.charge_keccak(
        64usize.saturating_mul(c.claimedProof.len().saturating_add(c.parentProof.len())),
    );
    if !tandem_primitives::protocol::verify_block_root(
        blocks_root,
        c.claimedRoot,
        at,
        interval,
        &c.claimedProof,
    ) {
        return Ok(Err(bad_proof("claimed root")));
    }
    let parent = OutputPreimage {
        state_root: c.parent.stateRoot,
        message_passer_root: c.parent.messagePasserStorageRoot,
        block_hash: c.parent.blockHash,
    };
    let parent_root = parent.root();
    let parent_claimed = if at > 0 {
        tandem_primitives::protocol::verify_block_root(
            blocks_root,
            parent_root,
            at - 1,
            interval,
            &c.parentProof,
        )
    } else if index > 0 {
        parent_root
            == B256::from(call.sload_at(OUTPUT_ORACLE, output_slot(index - 1, field::ROOT))?)
    } else {
        parent_root == B256::from(call.sload(GENESIS_OUTPUT_SLOT)?)
    };
    if !parent_claimed {
        return Ok(Err(bad_proof("parent root")));
    }
    // The witness: its first header is the parent's, which says where the queue stands.
    let witness = match execute::decode_witness(call, &c.witness) {
        Ok(witness) => witness,
        Err(e) => return Ok(Err(IDisputeGame::ExecutionFailed { reason: e }.abi_encode())),
    };
    let parent_header = witness
        .headers
        .first()
        .filter(|raw| keccak256(raw) == parent.block_hash)
        .and_then(|raw| alloy_rlp::decode_exact::<Header>(raw).ok());
    let Some(parent_header) = parent_header else {
        return Ok(Err(bad_proof("parent header")));
    };
    // The block's inputs, from L1 alone.
    let inputs = match block_inputs(call, &c, number, &parent_header)? {
        Ok(inputs) => inputs,
        Err(revert) => return Ok(Err(revert)),
    };
    let done = match execute::run_decoded(call, &parent, &inputs, &witness)? {
        Ok(done) => done,
        Err(reason) => return Ok(Err(IDisputeGame::ExecutionFailed { reason }.abi_encode())),
    };
    // The queue list was all the block could depend on: the state transition stopped within it,
    // or the entry after it is not due at the block's origin.
    let queue_first = L1Origin::queue_index_of(&parent_header);
    let following = queue_first.saturating_add(inputs.queue.len() as u64);
    let length: u64 = call
        .sload_at(PORTAL, portal::QUEUE_LENGTH_SLOT)?
        .saturating_to();
    let next_due = following < length
        && call
            .sload_at(PORTAL, portal::entry_slots(following).1)?
            .saturating_to::<u64>()
            <= done.l1_origin;
    if !crate::l2::queue_is_whole(
        queue_first,
        inputs.queue.len() as u64,
        done.queue_next,
        next_due,
    ) {
        return Ok(Err(IDisputeGame::BadQueue {
            reason: format!("entry {following} is due and missing"),
        }
        .abi_encode()));
    }
    let true_root = done.output.root();
    let won = true_root != c.claimedRoot;
    let proposer = Address::from_word(read(call, field::PROPOSER)?.into());
    if won {
        award(call, index, count.saturating_to())?;
    } else if !call.transfer(call.address, proposer, call.value)? {
        return Err("the DisputeGame cannot pay a bond it holds".into());
    }
    call.log(
        IDisputeGame::Challenged {
            outputIndex: c.outputIndex,
            l2BlockNumber: number,
            challenger: call.caller,
            won,
            claimedRoot: c.claimedRoot,
            trueRoot: true_root,
        }
        .encode_log_data(),
    );
    Ok(Ok(won))
}

/// Deletes output `index` and every later one; pays the challenger its bond back and the wrong
/// output's bond less the burn, and returns later outputs' bonds to their proposers.
fn award<CTX: ContextTr>(call: &mut Call<'_, CTX>, index: u64, count: u64) -> Result<(), String> {
    let challenger = call.caller;
    let stake = call.value;
    if !call.transfer(call.address, challenger, stake)? {
        return Err("the DisputeGame cannot return a bond it holds".into());
    }
    let bond = call.sload_at(OUTPUT_ORACLE, output_slot(index, field::BOND))?;
    let burn = bond / U256::from(BURN_DIVISOR);
    let paid = call.transfer(OUTPUT_ORACLE, challenger, bond - burn)?
        && call.burn_at(OUTPUT_ORACLE, burn)?;
    for later in index + 1..count {
        let proposer = Address::from_word(
            call.sload_at(OUTPUT_ORACLE, output_slot(later, field::PROPOSER))?
                .into(),
        );
        let bond = call.sload_at(OUTPUT_ORACLE, output_slot(later, field::BOND))?;
        call.transfer(OUTPUT_ORACLE, proposer, bond)?;
    }
    if !paid {
        return Err("the OutputOracle holds less than the bonds it took".into());
    }
    call.sstore_at(OUTPUT_ORACLE, COUNT_SLOT, U256::from(index))?;
    call.log_as(
        OUTPUT_ORACLE,
        output_oracle::IOutputOracle::OutputsDeleted {
            fromIndex: U256::from(index),
            count: U256::from(count - index),
        }
        .encode_log_data(),
    );
    Ok(())
}

/// L2 block `number`'s inputs from L1: its batch block, its origin's header, and its due queue.
fn block_inputs<CTX: ContextTr>(
    call: &mut Call<'_, CTX>,
    c: &IDisputeGame::Challenge,
    number: u64,
    parent: &Header,
) -> Result<Result<L2BlockInputs, Vec<u8>>, String> {
    let bad_batch = |reason: &str| {
        IDisputeGame::BadBatch {
            reason: reason.into(),
        }
        .abi_encode()
    };
    // The batch: the one BatchInbox accepted under this sequence number, carrying the block.
    let Some(accepted) = batch_inbox::batch_range(call, c.batchSequence)? else {
        return Ok(Err(bad_batch("no such batch")));
    };
    if number < accepted.first || number > accepted.last {
        return Ok(Err(bad_batch("the batch does not carry the block")));
    }
    call.charge_keccak(c.batch.len());
    if batch_inbox::stored_commitment(call, c.batchSequence)? != keccak256(&c.batch) {
        return Ok(Err(bad_batch("bytes do not match the commitment")));
    }
    let chain_id = execute::l2_rules(call)?.chain_id;
    let batch =
        match batch_inbox::decode_stored(call, &c.batch, chain_id, accepted.table_before, true)? {
            Ok((batch, _)) => batch,
            Err(e) => return Ok(Err(bad_batch(&e.to_string()))),
        };
    let Some(block) = batch.blocks.into_iter().find(|b| b.number == number) else {
        return Ok(Err(bad_batch("the batch does not carry the block")));
    };
    // The origin: a header whose hash is L1's.
    let bad_origin = |reason: &str| {
        IDisputeGame::BadOrigin {
            reason: reason.into(),
        }
        .abi_encode()
    };
    call.charge_keccak(c.l1OriginHeader.len());
    let Ok(header) = alloy_rlp::decode_exact::<Header>(&c.l1OriginHeader) else {
        return Ok(Err(bad_origin("undecodable header")));
    };
    if header.number != block.l1_origin {
        return Ok(Err(bad_origin("not the block's origin")));
    }
    let hash = keccak256(&c.l1OriginHeader);
    if call.l1_block_hash(header.number)? != hash {
        return Ok(Err(bad_origin("not an L1 block")));
    }
    let origin = L1Origin {
        number: header.number,
        hash,
        timestamp: header.timestamp,
        base_fee: header.base_fee_per_gas.unwrap_or_default(),
    };
    // The queue: entries from the parent's next index, each the Portal's (its hash chains on to
    // the recorded one) at its recorded L1 block. How many of them the block takes is the state
    // transition's to decide; `challenge` checks after EXECUTE that the list did not end early.
    let bad_queue = |reason: String| IDisputeGame::BadQueue { reason }.abi_encode();
    let next = L1Origin::queue_index_of(parent);
    let mut previous = match next.checked_sub(1) {
        Some(before) => B256::from(call.sload_at(PORTAL, portal::entry_slots(before).0)?),
        None => B256::ZERO,
    };
    let mut queue = Vec::with_capacity(c.queue.len());
    for (i, raw) in c.queue.iter().enumerate() {
        let index = next.saturating_add(i as u64);
        // Paid for before its sender is recovered.
        call.charge(execute::EXECUTE_GAS_PER_TX);
        if call.out_of_gas() {
            return Ok(Err(bad_queue(format!("out of gas at entry {index}"))));
        }
        let Ok(tx) = TxEnvelope::decode_2718_exact(raw) else {
            return Ok(Err(bad_queue(format!("entry {index} does not decode"))));
        };
        let (hash_slot, block_slot) = portal::entry_slots(index);
        let recorded = B256::from(call.sload_at(PORTAL, hash_slot)?);
        call.charge_keccak(64);
        previous = tandem_primitives::protocol::next_queue_hash(previous, tx.tx_hash());
        if previous != recorded {
            return Ok(Err(bad_queue(format!("entry {index} is not the Portal's"))));
        }
        let l1_block: u64 = call.sload_at(PORTAL, block_slot)?.saturating_to();
        match QueuedTx::new(index, l1_block, tx) {
            Ok(entry) => queue.push(entry),
            Err(_) => return Ok(Err(bad_queue(format!("entry {index} has no sender")))),
        }
    }
    // The batch block's transactions, paid for before their senders are recovered.
    call.charge(execute::EXECUTE_GAS_PER_TX.saturating_mul(block.transactions.len() as u64));
    if call.out_of_gas() {
        return Ok(Err(bad_batch("out of gas before recovering senders")));
    }
    let transactions = crate::l2::with_senders(block.transactions);
    Ok(Ok(L2BlockInputs {
        timestamp: block.timestamp,
        l1_origin: origin,
        queue,
        transactions,
    }))
}
