//! Fuzzing the consensus block codec, the decoder every block from a peer goes through.
//!
//! Random bytes, and valid encodings with bytes flipped, inserted or cut, section lengths
//! changed, bodies spliced from other blocks or edited (a transaction duplicated, dropped or
//! moved): decoding never panics, and whatever it accepts re-encodes to the same bytes, keeps
//! the gas bound and carries the body its header commits to. 200 cases by default;
//! `PROPTEST_CASES=100000 cargo test -p tandem-consensus --test it codec` for a long run.
use alloy_consensus::{
    EMPTY_OMMER_ROOT_HASH, EMPTY_ROOT_HASH, Header, SignableTransaction, TxEip1559, TxEip2930,
    TxEip7702, TxLegacy,
};
use alloy_primitives::{Address, B256, Bytes, Signature, TxKind, U256};
use commonware_codec::{Decode as _, Encode as _, EncodeSize as _};
use commonware_consensus::{
    simplex::types::Context,
    types::{Epoch, Round, View},
};
use commonware_cryptography::{Hasher as _, Sha256, Signer as _, ed25519::PrivateKey};
use proptest::prelude::*;
use std::sync::OnceLock;
use tandem_consensus::{Block, BlockLimits, ConsensusContext};
use tandem_primitives::{SealedBlock, StoredTx, TxEnvelope, body, dev, genesis};

fn limits() -> BlockLimits {
    BlockLimits::new(&genesis::chain_config(&tandem_execution::dev_genesis(900)))
}

/// A valid block's encoding, with where its two length prefixes sit.
struct Valid {
    bytes: Vec<u8>,
    header_len_at: usize,
    body_len_at: usize,
    txs: Vec<TxEnvelope>,
}

fn context(view: u64) -> ConsensusContext {
    Context {
        round: Round::new(Epoch::zero(), View::new(view)),
        leader: PrivateKey::from_seed(view).public_key(),
        parent: (View::new(view - 1), Sha256::hash(&[&view.to_be_bytes()])),
    }
}

fn to() -> TxKind {
    TxKind::Call(Address::with_last_byte(0x42))
}

/// One transaction of each signed type, and one whose signature recovers nothing.
fn mixed() -> Vec<TxEnvelope> {
    let account = &dev::accounts()[1];
    let junk = {
        let tx = TxEip1559 {
            chain_id: 900,
            to: to(),
            gas_limit: 21_000,
            ..Default::default()
        };
        TxEnvelope::Eip1559(tx.into_signed(Signature::new(U256::ZERO, U256::from(1), false)))
    };
    vec![
        account.sign(TxLegacy {
            chain_id: Some(900),
            gas_price: 7,
            gas_limit: 21_000,
            to: to(),
            value: U256::from(1),
            ..Default::default()
        }),
        account.sign(TxEip2930 {
            chain_id: 900,
            nonce: 1,
            gas_price: 7,
            gas_limit: 50_000,
            to: to(),
            input: Bytes::from_static(&[0, 1, 2, 3]),
            ..Default::default()
        }),
        account.sign(TxEip1559 {
            chain_id: 900,
            nonce: 2,
            max_fee_per_gas: 10,
            max_priority_fee_per_gas: 1,
            gas_limit: 100_000,
            to: to(),
            input: Bytes::from(vec![0xab; 300]),
            ..Default::default()
        }),
        account.sign(TxEip7702 {
            chain_id: 900,
            nonce: 3,
            max_fee_per_gas: 10,
            gas_limit: 100_000,
            to: Address::with_last_byte(0x42),
            ..Default::default()
        }),
        junk,
    ]
}

fn valid(view: u64, txs: Vec<TxEnvelope>) -> Valid {
    let header = Header {
        number: view,
        gas_limit: limits().gas_limit,
        gas_used: 100_000 * txs.len() as u64,
        timestamp: 1_750_000_000 + view,
        transactions_root: body::transactions_root(&txs),
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        withdrawals_root: Some(EMPTY_ROOT_HASH),
        base_fee_per_gas: Some(7),
        blob_gas_used: Some(0),
        excess_blob_gas: Some(0),
        parent_beacon_block_root: Some(B256::ZERO),
        ..Default::default()
    };
    let transactions = txs
        .iter()
        .map(|tx| StoredTx {
            sender: Address::ZERO,
            tx: tx.clone(),
        })
        .collect();
    let block = Block::new(
        context(view),
        SealedBlock::seal(tandem_primitives::Block {
            header,
            transactions,
        }),
    );
    let header_len_at = block.context.encode_size();
    let header_len = alloy_rlp::Encodable::length(block.header());
    Valid {
        bytes: block.encode().to_vec(),
        header_len_at,
        body_len_at: header_len_at + 4 + header_len,
        txs,
    }
}

fn corpus() -> &'static [Valid] {
    static CORPUS: OnceLock<Vec<Valid>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let transfers: Vec<TxEnvelope> = (0..3)
            .map(|nonce| {
                dev::accounts()[2].sign(TxEip1559 {
                    chain_id: 900,
                    nonce,
                    max_fee_per_gas: 10,
                    gas_limit: 21_000,
                    to: to(),
                    ..Default::default()
                })
            })
            .collect();
        vec![
            valid(1, Vec::new()),
            valid(2, transfers[..1].to_vec()),
            valid(3, transfers),
            valid(4, mixed()),
        ]
    })
}

/// A change to a valid encoding.
#[derive(Debug, Clone)]
enum Mutation {
    Flip {
        at: usize,
        bit: u8,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Remove {
        at: usize,
        len: usize,
    },
    Truncate {
        at: usize,
    },
    /// The header's (or the body's) length prefix set to another value.
    SectionLength {
        body: bool,
        len: u32,
    },
    /// The body's length prefix moved by a little.
    SectionDelta {
        body: bool,
        delta: i8,
    },
    /// This block's context and header with another valid block's body.
    Splice {
        other: usize,
    },
    /// The body with one transaction duplicated, dropped, or moved to the end.
    Duplicate {
        at: usize,
    },
    Drop {
        at: usize,
    },
    Move {
        at: usize,
    },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1usize..64).prop_map(|(at, len)| Mutation::Remove { at, len }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (any::<bool>(), any::<u32>()).prop_map(|(body, len)| Mutation::SectionLength { body, len }),
        (any::<bool>(), any::<i8>())
            .prop_map(|(body, delta)| Mutation::SectionDelta { body, delta }),
        any::<usize>().prop_map(|other| Mutation::Splice { other }),
        any::<usize>().prop_map(|at| Mutation::Duplicate { at }),
        any::<usize>().prop_map(|at| Mutation::Drop { at }),
        any::<usize>().prop_map(|at| Mutation::Move { at }),
    ]
}

/// `valid`'s head (context and header) with `txs` as its body.
fn with_body(valid: &Valid, txs: &[TxEnvelope]) -> Vec<u8> {
    let body = alloy_rlp::encode(txs.to_vec());
    let mut out = valid.bytes[..valid.body_len_at].to_vec();
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

fn apply(valid: &Valid, bytes: Vec<u8>, mutation: &Mutation) -> Vec<u8> {
    let mut bytes = bytes;
    let at = |at: usize, len: usize| at % len.max(1);
    match mutation {
        Mutation::Flip { at: i, bit } if !bytes.is_empty() => {
            let i = at(*i, bytes.len());
            bytes[i] ^= 1 << bit;
        }
        Mutation::Insert { at: i, bytes: more } => {
            let i = at(*i, bytes.len() + 1);
            bytes.splice(i..i, more.iter().copied());
        }
        Mutation::Remove { at: i, len } if !bytes.is_empty() => {
            let i = at(*i, bytes.len());
            let end = (i + len).min(bytes.len());
            bytes.drain(i..end);
        }
        Mutation::Truncate { at: i } => bytes.truncate(at(*i, bytes.len() + 1)),
        Mutation::SectionLength { body, len } => {
            let i = if *body {
                valid.body_len_at
            } else {
                valid.header_len_at
            };
            if let Some(prefix) = bytes.get_mut(i..i + 4) {
                prefix.copy_from_slice(&len.to_be_bytes());
            }
        }
        Mutation::SectionDelta { body, delta } => {
            let i = if *body {
                valid.body_len_at
            } else {
                valid.header_len_at
            };
            if let Some(prefix) = bytes.get_mut(i..i + 4) {
                let len = u32::from_be_bytes(prefix.try_into().unwrap());
                let len = len.wrapping_add_signed(i32::from(*delta));
                prefix.copy_from_slice(&len.to_be_bytes());
            }
        }
        Mutation::Splice { other } => {
            let other = &corpus()[at(*other, corpus().len())];
            bytes = with_body(valid, &other.txs);
        }
        Mutation::Duplicate { at: i } if !valid.txs.is_empty() => {
            let mut txs = valid.txs.clone();
            txs.push(txs[at(*i, txs.len())].clone());
            bytes = with_body(valid, &txs);
        }
        Mutation::Drop { at: i } if !valid.txs.is_empty() => {
            let mut txs = valid.txs.clone();
            txs.remove(at(*i, txs.len()));
            bytes = with_body(valid, &txs);
        }
        Mutation::Move { at: i } if !valid.txs.is_empty() => {
            let mut txs = valid.txs.clone();
            let tx = txs.remove(at(*i, txs.len()));
            txs.push(tx);
            bytes = with_body(valid, &txs);
        }
        _ => {}
    }
    bytes
}

/// Random bytes, or a valid encoding with one to four mutations.
fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        (any::<usize>(), prop::collection::vec(mutation(), 1..5)).prop_map(|(which, mutations)| {
            let valid = &corpus()[which % corpus().len()];
            mutations
                .iter()
                .fold(valid.bytes.clone(), |bytes, m| apply(valid, bytes, m))
        }),
    ]
}

/// What anything the decoder accepts must be.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let limits = limits();
    let Ok(block) = Block::decode_cfg(bytes.to_vec(), &limits) else {
        return Ok(());
    };
    prop_assert_eq!(&block.encode()[..], bytes, "re-encodes to the same bytes");
    prop_assert_eq!(block.encode_size(), bytes.len());
    prop_assert_eq!(block.hash(), block.header().hash_slow());
    prop_assert_eq!(
        body::check_body(block.header(), block.transactions()),
        Ok(())
    );
    let header = block.header();
    prop_assert!(header.gas_limit <= limits.gas_limit);
    prop_assert!(header.gas_used <= header.gas_limit);
    prop_assert!(block.transactions().len() as u64 * limits.min_tx_gas <= header.gas_used);
    // Recovering the senders of anything accepted does not panic either.
    let _ = block.senders();
    Ok(())
}

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

#[test]
fn every_valid_encoding_in_the_corpus_decodes_to_itself() {
    for valid in corpus() {
        let block = Block::decode_cfg(valid.bytes.clone(), &limits()).unwrap();
        assert_eq!(&block.encode()[..], &valid.bytes[..]);
        assert_eq!(block.transactions(), &valid.txs[..]);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_block_decoder_never_panics_and_accepts_only_blocks_whose_header_commits_to_their_body(
        bytes in input(),
    ) {
        check(&bytes)?;
    }
}
