//! Derivation against hostile L1 data: random and mutated batches, wrong sequence numbers and
//! wrong senders are skipped; the valid batches around them still rebuild the sequencer's chain.
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use proptest::prelude::*;
use std::{collections::HashMap, sync::Arc};
use tandem_execution::l2::{L1Origin, L2BlockInputs, execute_l2_block};
use tandem_primitives::{ChainConfig, StoredTx, dev, genesis};
use tandem_rollup::{
    AddressTable, Batch, BatchBlock, Compression,
    derivation::{Deriver, L1Batch, Skip},
};
use tandem_state::LatestState;
use tandem_storage::Storage;

const BATCHER: usize = dev::DEV_BATCHER;

fn l2_storage(dir: &tempfile::TempDir, name: &str) -> (Arc<Storage>, ChainConfig) {
    let g = genesis::dev_l2_genesis();
    let storage = Arc::new(Storage::open(&dir.path().join(name)).unwrap());
    tandem_rpc::init_genesis(&storage, &g).unwrap();
    (storage, genesis::chain_config(&g))
}

fn origin(number: u64) -> L1Origin {
    L1Origin {
        number,
        hash: B256::with_last_byte(number as u8),
        timestamp: number,
        base_fee: 1_000_000_000 + number,
    }
}

/// A sequencer's chain: `blocks` L2 blocks of a few transfers each, cut into batches of
/// `per_batch` blocks.
fn sequencer_chain(
    dir: &tempfile::TempDir,
    blocks: u64,
    per_batch: usize,
) -> (Arc<Storage>, Vec<Batch>) {
    let (storage, chain) = l2_storage(dir, "sequencer");
    let mut batch_blocks = Vec::new();
    let mut nonces = [0u64; 4];
    for number in 1..=blocks {
        let reader = storage.read().unwrap();
        let parent = reader.header(number - 1).unwrap().unwrap();
        let transactions = (0..3)
            .map(|i| {
                let who = ((number as usize) + i) % 4;
                let account = &dev::accounts()[who];
                let tx = account.sign(TxEip1559 {
                    chain_id: 901,
                    nonce: nonces[who],
                    gas_limit: 21_000,
                    max_fee_per_gas: 1_000_000_000,
                    max_priority_fee_per_gas: 1,
                    to: TxKind::Call(Address::with_last_byte((number % 5) as u8)),
                    value: U256::from(number),
                    ..Default::default()
                });
                nonces[who] += 1;
                StoredTx {
                    sender: account.address,
                    tx,
                }
            })
            .collect();
        let inputs = L2BlockInputs {
            timestamp: 10 + number,
            l1_origin: origin(1 + number / 3),
            queue: Vec::new(),
            transactions,
        };
        let block = execute_l2_block(
            (&reader).into(),
            LatestState(&reader),
            &chain,
            &parent,
            &inputs,
        )
        .unwrap();
        assert!(block.skipped.is_empty());
        drop(reader);
        storage.commit(&block.executed.into_commit()).unwrap();
        batch_blocks.push(BatchBlock {
            number,
            timestamp: inputs.timestamp,
            l1_origin: inputs.l1_origin.number,
            transactions: inputs.transactions.into_iter().map(|t| t.tx).collect(),
        });
    }
    let batches = batch_blocks
        .chunks(per_batch)
        .map(|blocks| Batch {
            blocks: blocks.to_vec(),
        })
        .collect();
    (storage, batches)
}

fn encode(batch: &Batch, table: &AddressTable) -> Vec<u8> {
    batch.encode(901, Compression::Brotli, table).unwrap().0
}

fn head_hash(storage: &Storage) -> (u64, B256) {
    let reader = storage.read().unwrap();
    let head = reader.last_height().unwrap();
    (head, reader.header(head).unwrap().unwrap().hash_slow())
}

/// What L1 might carry between two valid batches.
#[derive(Debug, Clone)]
enum Noise {
    RandomBytes(Vec<u8>),
    Truncated(usize),
    WrongSender,
    WrongSequence(u64),
    FutureOrigin,
}

fn noise() -> impl Strategy<Value = Noise> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..200).prop_map(Noise::RandomBytes),
        any::<usize>().prop_map(Noise::Truncated),
        Just(Noise::WrongSender),
        (1u64..5).prop_map(Noise::WrongSequence),
        Just(Noise::FutureOrigin),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn derivation_skips_hostile_batches_and_still_rebuilds_the_sequencers_chain(
        noise in prop::collection::vec(prop::collection::vec(noise(), 0..3), 4),
        flips in prop::collection::vec((any::<usize>(), 1u8..), 0..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (sequencer, batches) = sequencer_chain(&dir, 12, 3);
        let (storage, chain) = l2_storage(&dir, "verifier");
        let batcher = dev::accounts()[BATCHER].address;
        let mut deriver = Deriver::new(storage.clone(), chain, batcher);
        let origins: HashMap<u64, L1Origin> = (0..10).map(|n| (n, origin(n))).collect();
        let mut origin_of = |n: u64| origins.get(&n).copied();
        let l1_block = 9; // every origin is at or before the batches' L1 block
        let item = |sequence: u64, data: &[u8]| L1Batch { l1_block, sender: batcher, sequence, data: Bytes::copy_from_slice(data) };

        for (batch, noise) in batches.iter().zip(&noise) {
            for n in noise {
                // The batcher encodes against the table of what L1 already holds, as the verifier knows it.
                let valid = &encode(batch, deriver.table());
                let before = (head_hash(&storage), deriver.next_sequence());
                let sequence = deriver.next_sequence();
                let outcome = match n {
                    Noise::RandomBytes(bytes) => deriver.apply(&item(sequence, bytes), &mut origin_of),
                    Noise::Truncated(at) => deriver.apply(&item(sequence, &valid[..at % valid.len()]), &mut origin_of),
                    Noise::WrongSender => deriver.apply(&L1Batch { sender: Address::with_last_byte(1), ..item(sequence, valid) }, &mut origin_of),
                    Noise::WrongSequence(ahead) => deriver.apply(&item(sequence + ahead, valid), &mut origin_of),
                    Noise::FutureOrigin => deriver.apply(&L1Batch { l1_block: 0, ..item(sequence, valid) }, &mut origin_of),
                }.expect("never fatal");
                prop_assert!(outcome.is_err(), "{n:?} must be skipped");
                prop_assert_eq!(head_hash(&storage), before.0, "a skipped batch changes nothing");
                match n {
                    // Not the batcher's, or out of order: the sequence number stays free.
                    Noise::WrongSender | Noise::WrongSequence(_) => prop_assert_eq!(deriver.next_sequence(), before.1),
                    // The batcher's own post, however broken, uses its number.
                    _ => prop_assert_eq!(deriver.next_sequence(), before.1 + 1),
                }
            }
            let valid = &encode(batch, deriver.table());
            let sequence = deriver.next_sequence();
            let derived = deriver.apply(&item(sequence, valid), &mut origin_of).expect("never fatal");
            prop_assert_eq!(derived.map_err(|e| e.to_string()), Ok(3));
            // A repeated post of the same blocks is harmless.
            let sequence = deriver.next_sequence();
            let again = &encode(batch, deriver.table());
            prop_assert_eq!(deriver.apply(&item(sequence, again), &mut origin_of).expect("never fatal").map_err(|e| e.to_string()), Ok(0));
        }
        prop_assert_eq!(head_hash(&storage), head_hash(&sequencer), "the same chain as the sequencer's");

        // Bit flips anywhere in a batch: skipped or applied, but never a panic or a fatal error.
        let mut mutated = encode(&batches[0], &AddressTable::default());
        for (at, mask) in &flips {
            let i = at % mutated.len();
            mutated[i] ^= mask;
        }
        let (fresh, chain) = l2_storage(&dir, "fresh");
        let mut deriver = Deriver::new(fresh, chain, batcher);
        let _ = deriver.apply(&item(0, &mutated), &mut origin_of).expect("never fatal");
    }
}

#[test]
fn a_gap_and_an_unknown_origin_are_skipped_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let (_, batches) = sequencer_chain(&dir, 6, 3);
    let (storage, chain) = l2_storage(&dir, "verifier");
    let batcher = dev::accounts()[BATCHER].address;
    let mut deriver = Deriver::new(storage.clone(), chain, batcher);
    let item = |sequence: u64, data: &[u8]| L1Batch {
        l1_block: 9,
        sender: batcher,
        sequence,
        data: Bytes::copy_from_slice(data),
    };
    let empty = AddressTable::default();
    // Blocks 4..=6 before 1..=3: a gap.
    let gap = deriver
        .apply(&item(0, &encode(&batches[1], &empty)), &mut |n| {
            Some(origin(n))
        })
        .unwrap();
    assert!(matches!(gap, Err(Skip::Gap { head: 0, got: 4 })), "{gap:?}");
    // L1 does not know the origin.
    let table = deriver.table().clone();
    let unknown = deriver
        .apply(&item(1, &encode(&batches[0], &table)), &mut |_| None)
        .unwrap();
    assert!(
        matches!(unknown, Err(Skip::UnknownOrigin { .. })),
        "{unknown:?}"
    );
    assert_eq!(storage.read().unwrap().last_height(), Some(0));
    // Then the right data still applies.
    let table = deriver.table().clone();
    let ok = deriver
        .apply(&item(2, &encode(&batches[0], &table)), &mut |n| {
            Some(origin(n))
        })
        .unwrap();
    assert_eq!(ok.unwrap(), 3);
}
