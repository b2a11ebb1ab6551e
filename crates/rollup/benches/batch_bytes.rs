//! L1 bytes per L2 transaction, for each compression, on a realistic mix and on all-unique recipients.
//!
//! Realistic mix: 1,000 transactions per batch from 200 senders; 70% ETH transfers to a
//! Zipf-distributed (s = 1) set of 2,000 recipients with round amounts, 30% ERC-20 `transfer` calls on
//! 5 tokens to the same recipients; EIP-1559 fees as a wallet sets them (one base fee per batch, a
//! few tip levels). Transfers only: the realistic mix without the ERC-20 calls. All-unique: the
//! realistic mix, but every recipient is fresh.
//! Run: `cargo bench -p tandem-rollup --bench batch_bytes`
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use rand::{Rng, SeedableRng, rngs::StdRng};
use tandem_primitives::{TxEnvelope, dev::DevAccount};
use tandem_rollup::{Batch, BatchBlock, Compression, Limits};

const CHAIN_ID: u64 = 901;
const TXS: usize = 1_000;
const SENDERS: u64 = 200;
const RECIPIENTS: usize = 2_000;

fn zipf_sampler(n: usize) -> Vec<f64> {
    let mut cumulative = Vec::with_capacity(n);
    let mut total = 0.0;
    for k in 1..=n {
        total += 1.0 / k as f64;
        cumulative.push(total);
    }
    cumulative.iter().map(|c| c / total).collect()
}

fn workload(unique: bool, erc20_share: f64, seed: u64) -> Batch {
    let mut rng = StdRng::seed_from_u64(seed);
    let senders: Vec<DevAccount> = (0..SENDERS)
        .map(|i| DevAccount::from_secret(B256::from(U256::from(i + 1))).unwrap())
        .collect();
    let recipients: Vec<Address> = (0..RECIPIENTS)
        .map(|_| Address::from(rng.random::<[u8; 20]>()))
        .collect();
    let tokens: Vec<Address> = (0..5)
        .map(|_| Address::from(rng.random::<[u8; 20]>()))
        .collect();
    let zipf = zipf_sampler(RECIPIENTS);
    let mut nonces = vec![0u64; SENDERS as usize];
    let base_fee: u128 = 1_000_000 + rng.random_range(0..1_000);
    let mut transactions = Vec::with_capacity(TXS);
    for _ in 0..TXS {
        let recipient = if unique {
            Address::from(rng.random::<[u8; 20]>())
        } else {
            let u: f64 = rng.random();
            recipients[zipf.partition_point(|c| *c < u).min(RECIPIENTS - 1)]
        };
        let who = rng.random_range(0..SENDERS as usize);
        let nonce = nonces[who];
        nonces[who] += 1;
        let tip = [1_000u128, 10_000, 100_000][rng.random_range(0..3)];
        let amount = U256::from(rng.random_range(1u64..100))
            * U256::from(10u64).pow(U256::from(rng.random_range(14u64..19)));
        let (to, value, input, gas_limit) = if !rng.random_bool(erc20_share) {
            (recipient, amount, Bytes::new(), 21_000)
        } else {
            let mut call = vec![0xa9, 0x05, 0x9c, 0xbb];
            call.extend_from_slice(&[0u8; 12]);
            call.extend_from_slice(recipient.as_slice());
            call.extend_from_slice(&amount.to_be_bytes::<32>());
            (
                tokens[rng.random_range(0..tokens.len())],
                U256::ZERO,
                Bytes::from(call),
                60_000,
            )
        };
        let tx = TxEip1559 {
            chain_id: CHAIN_ID,
            nonce,
            gas_limit,
            max_fee_per_gas: 2 * base_fee + tip,
            max_priority_fee_per_gas: tip,
            to: TxKind::Call(to),
            value,
            access_list: Default::default(),
            input,
        };
        let signed: TxEnvelope = senders[who].sign(tx);
        transactions.push(signed);
    }
    // 1,000 transactions over 8 blocks of 250 ms (two seconds of L2).
    let per_block = TXS / 8;
    let blocks = transactions
        .chunks(per_block)
        .enumerate()
        .map(|(i, txs)| BatchBlock {
            number: 1_000 + i as u64,
            timestamp: 5_000 + (i as u64) / 4,
            l1_origin: 700,
            transactions: txs.to_vec(),
        })
        .collect();
    Batch { blocks }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    for (name, unique, erc20_share) in [
        ("realistic", false, 0.3),
        ("transfers_only", false, 0.0),
        ("unique_recipients", true, 0.3),
    ] {
        let batch = workload(unique, erc20_share, 7);
        let txs: usize = batch.blocks.iter().map(|b| b.transactions.len()).sum();
        let raw: usize = batch
            .blocks
            .iter()
            .flat_map(|b| &b.transactions)
            .map(alloy_eips::eip2718::Encodable2718::encode_2718_len)
            .sum();
        for compression in [Compression::Brotli, Compression::Zstd] {
            let encoded = batch.encode(CHAIN_ID, compression).unwrap();
            assert_eq!(
                Batch::decode(&encoded, CHAIN_ID, &Limits::default()).unwrap(),
                batch,
                "round trip"
            );
            println!(
                "rollup::batch_bytes/mix={name}/compression={compression:?}: {:.1} L1 bytes per L2 transaction ({} transactions, {} bytes raw signed, {:.2}x)",
                encoded.len() as f64 / txs as f64,
                txs,
                raw,
                raw as f64 / encoded.len() as f64
            );
        }
    }
}
