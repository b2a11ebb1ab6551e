use crate::workload::{CHAIN_ID, random_batch, signer};
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, TxKind, U256};
use proptest::prelude::*;
use tandem_rollup::{AddressTable, Batch, BatchBlock, BatchError, Compression, Limits};

fn encode(batch: &Batch, compression: Compression) -> Result<Vec<u8>, BatchError> {
    batch
        .encode(CHAIN_ID, compression, &AddressTable::default())
        .map(|(bytes, _)| bytes)
}

fn decode(data: &[u8], limits: &Limits) -> Result<Batch, BatchError> {
    Batch::decode(data, CHAIN_ID, limits, &AddressTable::default()).map(|(batch, _)| batch)
}

fn hashes(batch: &Batch) -> Vec<Vec<alloy_primitives::B256>> {
    batch
        .blocks
        .iter()
        .map(|b| b.transactions.iter().map(|t| t.tx_hash()).collect())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn batches_decode_to_exactly_the_blocks_and_signed_transactions_encoded_with_a_shared_address_table(seed in any::<u64>(), blocks in 1usize..6, per_block in 0usize..20, zstd in any::<bool>()) {
        let compression = if zstd { Compression::Zstd } else { Compression::Brotli };
        // The batcher's table and a verifier's, each updated only from what it encoded or decoded.
        let (mut batcher, mut verifier) = (AddressTable::default(), AddressTable::default());
        for (i, batch) in [random_batch(seed, blocks, per_block), random_batch(seed.wrapping_add(1), blocks, per_block)].iter().enumerate() {
            let (encoded, introduced) = batch.encode(CHAIN_ID, compression, &batcher).unwrap();
            let (decoded, learned) = Batch::decode(&encoded, CHAIN_ID, &Limits::default(), &verifier).unwrap();
            prop_assert_eq!(&decoded, batch, "batch {}", i);
            prop_assert_eq!(hashes(&decoded), hashes(batch));
            prop_assert_eq!(&learned, &introduced);
            batcher.extend(&introduced);
            verifier.extend(&learned);
            if !learned.is_empty() {
                prop_assert!(Batch::decode(&encoded, CHAIN_ID, &Limits::default(), &verifier).is_err(), "introducing a known address again is refused");
            }
        }
        prop_assert_eq!(&batcher, &verifier);
    }

    /// Hostile or corrupted batch data is an error, never a panic.
    #[test]
    fn decoding_random_and_mutated_batches_never_panics(seed in any::<u64>(), flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..8), cut in any::<usize>(), junk in prop::collection::vec(any::<u8>(), 0..300)) {
        let limits = Limits::default();
        let _ = decode(&junk, &limits);
        let encoded = encode(&random_batch(seed, 3, 10), Compression::Brotli).unwrap();
        let mut flipped = encoded.clone();
        for (at, mask) in flips {
            let i = at % flipped.len();
            flipped[i] ^= mask.max(1);
        }
        let _ = decode(&flipped, &limits);
        let _ = decode(&encoded[..cut % encoded.len()], &limits);
        // The raw (uncompressed) layer is hostile too: mutate it under a valid compression frame.
        let mut raw = zstd::bulk::decompress(&encode(&random_batch(seed, 2, 5), Compression::Zstd).unwrap()[1..], 1 << 24).unwrap();
        let at = cut % raw.len();
        raw[at] ^= 0xff;
        let mut reframed = vec![Compression::Zstd as u8];
        reframed.extend(zstd::bulk::compress(&raw, 1).unwrap());
        let _ = decode(&reframed, &limits);
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
        decode(&bomb, &limits),
        Err(BatchError::TooLarge(1024 * 1024))
    );
    assert_eq!(decode(&[9, 1, 2], &limits), Err(BatchError::Version(9)));
    assert_eq!(decode(&[], &limits), Err(BatchError::Empty));
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
        encode(&gap, Compression::Zstd),
        Err(BatchError::NotConsecutive(3, 1))
    );
    let backwards = Batch {
        blocks: vec![block(1, 10, vec![]), block(2, 9, vec![])],
    };
    assert_eq!(
        encode(&backwards, Compression::Zstd),
        Err(BatchError::Backwards(2))
    );
    let foreign = Batch {
        blocks: vec![block(1, 10, vec![tx(900)])],
    };
    assert!(matches!(
        encode(&foreign, Compression::Zstd),
        Err(BatchError::Unbatchable { index: 0, .. })
    ));
    assert_eq!(
        encode(&Batch::default(), Compression::Zstd),
        Err(BatchError::Empty)
    );
}

/// A full block of `per_tx` bytes of incompressible calldata a transaction (as many as the block's
/// data allows), with fresh recipients and random values: the worst case for the codec.
fn incompressible_block(seed: u64, per_tx: usize) -> BatchBlock {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    use tandem_execution::l2::MAX_BLOCK_DATA_BYTES;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut transactions = Vec::new();
    let mut bytes = 0;
    for nonce in 0.. {
        let mut input = vec![0u8; per_tx];
        rng.fill(&mut input[..]);
        let tx = signer(nonce % 8).sign(TxEip1559 {
            chain_id: CHAIN_ID,
            nonce: nonce / 8 + rng.random_range(0..1_000_000),
            gas_limit: rng.random_range(21_000..30_000_000),
            max_fee_per_gas: rng.random::<u64>() as u128,
            max_priority_fee_per_gas: rng.random::<u32>() as u128,
            to: TxKind::Call(Address::from(rng.random::<[u8; 20]>())),
            value: U256::from(rng.random::<u128>()),
            input: input.into(),
            ..Default::default()
        });
        let len = alloy_eips::eip2718::Encodable2718::encode_2718_len(&tx) as u64;
        if bytes + len > MAX_BLOCK_DATA_BYTES {
            break;
        }
        bytes += len;
        transactions.push(tx);
    }
    BatchBlock {
        number: 1,
        timestamp: 1_000,
        l1_origin: 1,
        transactions,
    }
}

#[test]
fn any_block_the_state_transition_builds_fits_a_batch_by_itself() {
    use tandem_primitives::batch::MAX_BATCH_BYTES;
    for (seed, per_tx) in [(1, 0), (2, 40), (3, 1_000), (4, 110_000)] {
        let block = incompressible_block(seed, per_tx);
        assert!(!block.transactions.is_empty());
        tandem_execution::l2::check_block_data(&block.transactions, 30_000_000).unwrap();
        let batch = Batch {
            blocks: vec![block],
        };
        for compression in [Compression::Brotli, Compression::Zstd] {
            let encoded = encode(&batch, compression).unwrap();
            assert!(
                encoded.len() <= MAX_BATCH_BYTES,
                "{} bytes of {} transactions of {per_tx} bytes of calldata ({compression:?})",
                encoded.len(),
                batch.blocks[0].transactions.len()
            );
            assert_eq!(decode(&encoded, &Limits::default()).unwrap(), batch);
        }
    }
}

#[test]
fn bytes_after_the_compressed_stream_are_refused() {
    let batch = random_batch(5, 3, 10);
    for compression in [Compression::Brotli, Compression::Zstd] {
        let encoded = encode(&batch, compression).unwrap();
        assert_eq!(decode(&encoded, &Limits::default()).unwrap(), batch);
        for junk in [&[0u8][..], &[1, 2, 3], &encoded[1..]] {
            let mut padded = encoded.clone();
            padded.extend_from_slice(junk);
            assert!(
                matches!(
                    decode(&padded, &Limits::default()),
                    Err(BatchError::Decompress(_))
                ),
                "{compression:?} with {} bytes after the stream",
                junk.len()
            );
        }
    }
}
