//! Signed L2 transactions for codec tests.
use alloy_consensus::{TxEip1559, TxLegacy};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use rand::{Rng, SeedableRng, rngs::StdRng};
use tandem_primitives::{TxEnvelope, dev::DevAccount};
use tandem_rollup::{Batch, BatchBlock};

pub(crate) const CHAIN_ID: u64 = 901;

pub(crate) fn signer(i: u64) -> DevAccount {
    DevAccount::from_secret(B256::from(U256::from(i + 1))).unwrap()
}

/// Addresses many batches send to (so the address table has something to name).
pub(crate) fn popular(i: u64) -> Address {
    Address::with_last_byte(0x10 + (i % 8) as u8)
}

/// Calldata of an ERC-20 `transfer(to, amount)`; `dirty` sets a bit in the address word's padding.
pub(crate) fn erc20_transfer(to: Address, amount: U256, dirty: bool) -> Bytes {
    let mut call = vec![0xa9, 0x05, 0x9c, 0xbb];
    call.extend_from_slice(&[0u8; 12]);
    call[4] = dirty as u8;
    call.extend_from_slice(to.as_slice());
    call.extend_from_slice(&amount.to_be_bytes::<32>());
    call.into()
}

/// A random batch of consecutive blocks with legacy and EIP-1559 transfers and calls, half of
/// them to a few popular addresses, some ERC-20 transfers among them.
pub(crate) fn random_batch(seed: u64, blocks: usize, per_block: usize) -> Batch {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut nonce = [0u64; 8];
    let mut timestamp = 1_000;
    let mut origin = 50;
    let blocks = (0..blocks)
        .map(|b| {
            timestamp += rng.random_range(0..3);
            origin += rng.random_range(0..2);
            let transactions = (0..rng.random_range(0..=per_block))
                .map(|_| {
                    let who = rng.random_range(0..8);
                    nonce[who] += 1;
                    let to = if rng.random_bool(0.1) {
                        TxKind::Create
                    } else if rng.random_bool(0.5) {
                        TxKind::Call(popular(rng.random()))
                    } else {
                        TxKind::Call(Address::from(rng.random::<[u8; 20]>()))
                    };
                    let input: Bytes = if rng.random_bool(0.3) {
                        let to = if rng.random_bool(0.5) {
                            popular(rng.random())
                        } else {
                            Address::from(rng.random::<[u8; 20]>())
                        };
                        let amount = U256::from(rng.random::<u64>()) << rng.random_range(0..190);
                        erc20_transfer(to, amount, rng.random_bool(0.1))
                    } else {
                        (0..rng.random_range(0..40))
                            .map(|_| rng.random::<u8>())
                            .collect::<Vec<_>>()
                            .into()
                    };
                    let value = U256::from(rng.random::<u64>());
                    let account = signer(who as u64);
                    let tx: TxEnvelope = if rng.random_bool(0.3) {
                        account.sign(TxLegacy {
                            chain_id: Some(CHAIN_ID),
                            nonce: nonce[who],
                            gas_price: rng.random::<u64>() as u128,
                            gas_limit: 21_000 + rng.random_range(0..100_000),
                            to,
                            value,
                            input,
                        })
                    } else {
                        account.sign(TxEip1559 {
                            chain_id: CHAIN_ID,
                            nonce: nonce[who],
                            gas_limit: 21_000 + rng.random_range(0..100_000),
                            max_fee_per_gas: rng.random::<u64>() as u128,
                            max_priority_fee_per_gas: rng.random::<u32>() as u128,
                            to,
                            value,
                            access_list: Default::default(),
                            input,
                        })
                    };
                    tx
                })
                .collect();
            BatchBlock {
                number: 100 + b as u64,
                timestamp,
                l1_origin: origin,
                transactions,
            }
        })
        .collect();
    Batch { blocks }
}
