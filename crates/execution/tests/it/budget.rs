//! The witness budget against blocks built to strain it: states with deep trie paths (keys ground
//! to share long prefixes), transactions that read hundreds of accounts and slots, delete many
//! slots, and are refused part way. Invariants, for every block:
//! - a challenge's witness is never larger than what the block charged (so the budget bounds
//!   every challenge, however many of its transactions were refused and whatever they deleted);
//! - EXECUTE over that witness gives the node's output;
//! - a verifier re-running what the sequencer included takes all of it and builds the same block.
//!
//! `TANDEM_BUDGET_BLOCKS` blocks (24 by default) from seed `TANDEM_BUDGET_SEED` (0).
use crate::{
    chain::TestChain,
    stateless::{UNCHARGED, challenge_witness, preimage, sign},
};
use alloy_primitives::{Address, B256, U256, keccak256};
use rand::{Rng, SeedableRng, rngs::StdRng};
use tandem_execution::{
    budget::WITNESS_BUDGET,
    l2::{L1Origin, L2BlockInputs},
    stateless::execute_stateless,
};
use tandem_primitives::{GenesisAccount, StoredTx, dev, genesis};

/// Stores every 64-byte (slot, value) pair of its calldata (a zero value deletes the slot).
const STORES: Address = Address::new([0x5f; 20]);
const STORES_CODE: &str = "5f5b8036111560175780602001358135556040016001565b00";
/// Calls BALANCE on every 32-byte address word of its calldata.
const BALANCES: Address = Address::new([0x9c; 20]);
const BALANCES_CODE: &str = "5f5b80361115601357803531506020016001565b00";

fn var(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A key whose hash begins with the first `nibbles` nibbles of `target`: ground from `seed`.
fn ground<T: AsRef<[u8]>>(
    target: B256,
    nibbles: usize,
    seed: u64,
    of: impl Fn(u64) -> T,
) -> (u64, T) {
    let want = |h: &B256| (0..nibbles).all(|i| nibble(h, i) == nibble(&target, i));
    (seed..)
        .map(|n| (n, of(n)))
        .find(|(_, key)| want(&keccak256(key)))
        .unwrap()
}

fn nibble(h: &B256, i: usize) -> u8 {
    (h[i / 2] >> (4 * (1 - i % 2))) & 0xf
}

struct State {
    chain: TestChain,
    accounts: Vec<Address>,
    slots: Vec<B256>,
}

/// A state of a few thousand accounts and a contract of a few thousand slots, some of each ground
/// to share a long prefix with one another, so their paths run deep.
fn state(rng: &mut StdRng) -> State {
    let mut g = genesis::dev_l2_genesis();
    let code = |hex: &str| {
        GenesisAccount::default()
            .with_code(Some(alloy_primitives::hex::decode(hex).unwrap().into()))
    };
    g.alloc.insert(STORES, code(STORES_CODE));
    g.alloc.insert(BALANCES, code(BALANCES_CODE));
    let mut accounts: Vec<Address> = (0..30_000)
        .map(|_| Address::from(rng.random::<[u8; 20]>()))
        .collect();
    let deep = keccak256(rng.random::<[u8; 32]>());
    let mut next = rng.random::<u32>() as u64;
    for _ in 0..12 {
        let (n, address) = ground(deep, 4, next, |n| {
            Address::from_word(keccak256(n.to_be_bytes()))
        });
        accounts.push(address);
        next = n + 1;
    }
    for account in &accounts {
        g.alloc.insert(
            *account,
            GenesisAccount::default().with_balance(U256::from(1)),
        );
    }
    let mut slots: Vec<B256> = (0..6_000)
        .map(|_| B256::from(rng.random::<[u8; 32]>()))
        .collect();
    let deep = keccak256(rng.random::<[u8; 32]>());
    let mut next = rng.random::<u32>() as u64;
    for _ in 0..12 {
        let (n, slot) = ground(deep, 4, next, |n| keccak256((n ^ 0xabcdef).to_be_bytes()));
        slots.push(slot);
        next = n + 1;
    }
    let storage = slots
        .iter()
        .map(|s| (*s, B256::with_last_byte(7)))
        .collect();
    let stores = g.alloc.remove(&STORES).unwrap().with_storage(Some(storage));
    g.alloc.insert(STORES, stores);
    State {
        chain: TestChain::from_genesis(g),
        accounts,
        slots,
    }
}

/// One random sequenced transaction of dev account `from`.
fn random_tx(rng: &mut StdRng, s: &State, from: usize, nonce: u64) -> StoredTx {
    let pick = |rng: &mut StdRng, of: &[B256]| -> B256 {
        match rng.random_bool(0.8) {
            true => of[rng.random_range(0..of.len())],
            false => B256::from(rng.random::<[u8; 32]>()),
        }
    };
    let slots: Vec<B256> = s.slots.to_vec();
    let accounts: Vec<B256> = s.accounts.iter().map(|a| a.into_word()).collect();
    match rng.random_range(0..4) {
        // Reads of many accounts, some past what is left of the budget.
        0 => {
            let count = match rng.random_bool(0.5) {
                true => rng.random_range(1_200..2_600),
                false => rng.random_range(1..60),
            };
            let data = (0..count).flat_map(|_| pick(rng, &accounts).0).collect();
            sign(from, nonce, BALANCES, U256::ZERO, data, 7_000_000)
        }
        // Writes and deletions of many slots.
        1 | 2 => {
            let count = rng.random_range(1..120);
            let data = (0..count)
                .flat_map(|_| {
                    let value = match rng.random_range(0..3) {
                        0 => U256::ZERO,
                        _ => U256::from(rng.random::<u64>()),
                    };
                    [pick(rng, &slots).0, value.to_be_bytes::<32>()].concat()
                })
                .collect();
            sign(from, nonce, STORES, U256::ZERO, data, 7_000_000)
        }
        _ => sign(
            from,
            nonce,
            Address::from_word(pick(rng, &accounts)),
            U256::from(1),
            vec![],
            21_000,
        ),
    }
}

#[test]
fn a_block_s_witness_is_never_larger_than_its_charge_however_it_reads_deletes_or_is_refused() {
    let (seed, blocks) = (
        var("TANDEM_BUDGET_SEED", 0),
        var("TANDEM_BUDGET_BLOCKS", 24),
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let s = state(&mut rng);
    let chain = &s.chain;
    let mut refused = 0;
    for number in 1..=blocks {
        let head = chain.head();
        let reader = chain.storage.read().unwrap();
        let mut nonces: Vec<u64> = dev::accounts()[..8]
            .iter()
            .map(|a| reader.account(a.address).unwrap().map_or(0, |a| a.nonce))
            .collect();
        drop(reader);
        let mut transactions = Vec::new();
        for _ in 0..rng.random_range(1..5) {
            let from = rng.random_range(0..8);
            transactions.push(random_tx(&mut rng, &s, from, nonces[from]));
            nonces[from] += 1;
        }
        let inputs = L2BlockInputs {
            timestamp: head.timestamp + 1,
            l1_origin: L1Origin::default(),
            queue: Vec::new(),
            transactions,
        };
        // What a verifier (and EXECUTE) does with a batch holding all of them: each refused
        // transaction's reads up to its refusal are in the witness, and were charged.
        let derived = chain.execute_l2(&inputs).unwrap();
        refused += derived
            .skipped
            .iter()
            .filter(|(_, why)| why.contains("witness budget"))
            .count();
        assert!(derived.witness_bytes <= WITNESS_BUDGET);
        // The sequencer's own block: every verifier takes all it included.
        let sequenced = chain.sequence_l2(&inputs);
        let included = L2BlockInputs {
            transactions: sequenced.executed.block.block.transactions.clone(),
            ..inputs.clone()
        };
        let rederived = chain.execute_l2(&included).unwrap();
        assert!(
            rederived.skipped.is_empty(),
            "block {number}: {:?}",
            rederived.skipped
        );
        assert_eq!(rederived.executed.block.hash, sequenced.executed.block.hash);

        let parent = preimage(chain);
        chain
            .storage
            .commit(&derived.executed.into_commit())
            .unwrap();
        let (witness, len) = challenge_witness(chain, number, &inputs);
        assert!(
            len <= derived.witness_bytes + UNCHARGED,
            "block {number}: a witness of {len} bytes for a charge of {}",
            derived.witness_bytes
        );
        let got = execute_stateless(&chain.chain, &parent, &inputs, &witness).unwrap();
        assert_eq!(got.output, preimage(chain), "block {number}");
    }
    assert!(refused > 0, "no transaction reached the budget's edge");
}
