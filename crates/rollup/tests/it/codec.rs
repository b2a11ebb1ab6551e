use crate::workload::{CHAIN_ID, random_batch, signer};
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, TxKind, U256};
use proptest::prelude::*;
use tandem_rollup::{Batch, BatchBlock, BatchError, Compression, Limits};

fn hashes(batch: &Batch) -> Vec<Vec<alloy_primitives::B256>> {
    batch
        .blocks
        .iter()
        .map(|b| b.transactions.iter().map(|t| *t.tx_hash()).collect())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn a_batch_decodes_to_exactly_the_blocks_and_signed_transactions_encoded(seed in any::<u64>(), blocks in 1usize..6, per_block in 0usize..20, zstd in any::<bool>()) {
        let batch = random_batch(seed, blocks, per_block);
        let compression = if zstd { Compression::Zstd } else { Compression::Brotli };
        let encoded = batch.encode(CHAIN_ID, compression).unwrap();
        let decoded = Batch::decode(&encoded, CHAIN_ID, &Limits::default()).unwrap();
        prop_assert_eq!(&decoded, &batch);
        prop_assert_eq!(hashes(&decoded), hashes(&batch));
    }

    /// Hostile or corrupted batch data is an error, never a panic.
    #[test]
    fn decoding_random_and_mutated_batches_never_panics(seed in any::<u64>(), flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>(), junk in prop::collection::vec(any::<u8>(), 0..300)) {
        let limits = Limits::default();
        let _ = Batch::decode(&junk, CHAIN_ID, &limits);
        let encoded = random_batch(seed, 3, 10).encode(CHAIN_ID, Compression::Brotli).unwrap();
        let mut flipped = encoded.clone();
        for (at, mask) in flips {
            let i = at % flipped.len();
            flipped[i] ^= mask.max(1);
        }
        let _ = Batch::decode(&flipped, CHAIN_ID, &limits);
        let _ = Batch::decode(&encoded[..cut % encoded.len()], CHAIN_ID, &limits);
        // The raw (uncompressed) layer is hostile too: mutate it under a valid compression frame.
        let mut raw = zstd::bulk::decompress(&random_batch(seed, 2, 5).encode(CHAIN_ID, Compression::Zstd).unwrap()[1..], 1 << 24).unwrap();
        let at = cut % raw.len();
        raw[at] ^= 0xff;
        let mut reframed = vec![Compression::Zstd as u8];
        reframed.extend(zstd::bulk::compress(&raw, 1).unwrap());
        let _ = Batch::decode(&reframed, CHAIN_ID, &limits);
    }
}

#[test]
fn a_decompression_bomb_is_refused_within_the_limit() {
    let zeros = vec![0u8; 4 * 1024 * 1024];
    let mut bomb = vec![Compression::Zstd as u8];
    bomb.extend(zstd::bulk::compress(&zeros, 19).unwrap());
    assert!(bomb.len() < 4_096);
    let limits = Limits {
        max_decompressed_bytes: 1024 * 1024,
        ..Limits::default()
    };
    assert_eq!(
        Batch::decode(&bomb, CHAIN_ID, &limits),
        Err(BatchError::TooLarge(1024 * 1024))
    );
    assert_eq!(
        Batch::decode(&[9, 1, 2], CHAIN_ID, &limits),
        Err(BatchError::Version(9))
    );
    assert_eq!(
        Batch::decode(&[], CHAIN_ID, &limits),
        Err(BatchError::Empty)
    );
}

#[test]
fn encoding_refuses_gaps_backwards_time_and_foreign_transactions() {
    let tx = |chain_id| {
        signer(0).sign(TxEip1559 {
            chain_id,
            nonce: 0,
            gas_limit: 21_000,
            max_fee_per_gas: 1,
            to: TxKind::Call(Address::ZERO),
            value: U256::from(1),
            ..Default::default()
        })
    };
    let block = |number, timestamp, transactions| BatchBlock {
        number,
        timestamp,
        l1_origin: 1,
        transactions,
    };
    let gap = Batch {
        blocks: vec![block(1, 10, vec![]), block(3, 10, vec![])],
    };
    assert_eq!(
        gap.encode(CHAIN_ID, Compression::Zstd),
        Err(BatchError::NotConsecutive(3, 1))
    );
    let backwards = Batch {
        blocks: vec![block(1, 10, vec![]), block(2, 9, vec![])],
    };
    assert_eq!(
        backwards.encode(CHAIN_ID, Compression::Zstd),
        Err(BatchError::Backwards(2))
    );
    let foreign = Batch {
        blocks: vec![block(1, 10, vec![tx(900)])],
    };
    assert!(matches!(
        foreign.encode(CHAIN_ID, Compression::Zstd),
        Err(BatchError::Unbatchable { index: 0, .. })
    ));
    assert_eq!(
        Batch::default().encode(CHAIN_ID, Compression::Zstd),
        Err(BatchError::Empty)
    );
}
