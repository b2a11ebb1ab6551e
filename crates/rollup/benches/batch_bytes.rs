//! L1 bytes per L2 transaction, for each compression, on a realistic mix and on all-unique recipients.
//!
//! Realistic mix: 1,000 transactions per batch from 200 senders; 70% ETH transfers to a
//! Zipf-distributed (s = 1) set of 2,000 recipients with round amounts, 30% ERC-20 `transfer` calls on
//! 5 tokens to the same recipients; EIP-1559 fees as a wallet sets them (one base fee per batch, a
//! few tip levels). Transfers only: the realistic mix without the ERC-20 calls. All-unique: the
//! realistic mix, but every recipient is fresh.
//!
//! `table=cold` measures a chain's first batch; `table=warm` the batch after 10 batches (20 s) of the
//! same traffic, whose addresses the address table then names by index, as on a running chain.
//! Run: `cargo bench -p tandem-rollup --bench batch_bytes`
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use rand::{Rng, SeedableRng, rngs::StdRng};
use tandem_primitives::{TxEnvelope, dev::DevAccount};
use tandem_rollup::{AddressTable, Batch, BatchBlock, Compression, Limits};

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

/// The accounts a chain's traffic comes from and goes to.
struct Population {
    senders: Vec<DevAccount>,
    recipients: Vec<Address>,
    tokens: Vec<Address>,
    zipf: Vec<f64>,
    nonces: Vec<u64>,
}

impl Population {
    fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed);
        Self {
            senders: (0..SENDERS)
                .map(|i| DevAccount::from_secret(B256::from(U256::from(i + 1))).unwrap())
                .collect(),
            recipients: (0..RECIPIENTS)
                .map(|_| Address::from(rng.random::<[u8; 20]>()))
                .collect(),
            tokens: (0..5)
                .map(|_| Address::from(rng.random::<[u8; 20]>()))
                .collect(),
            zipf: zipf_sampler(RECIPIENTS),
            nonces: vec![0; SENDERS as usize],
        }
    }

    /// The next batch: 1,000 transactions over 8 blocks of 250 ms (two seconds of L2).
    fn batch(&mut self, unique: bool, erc20_share: f64, seed: u64, first_block: u64) -> Batch {
        let mut rng = StdRng::seed_from_u64(seed);
        let base_fee: u128 = 1_000_000 + rng.random_range(0..1_000);
        let mut transactions = Vec::with_capacity(TXS);
        for _ in 0..TXS {
            let recipient = if unique {
                Address::from(rng.random::<[u8; 20]>())
            } else {
                let u: f64 = rng.random();
                self.recipients[self.zipf.partition_point(|c| *c < u).min(RECIPIENTS - 1)]
            };
            let who = rng.random_range(0..SENDERS as usize);
            let nonce = self.nonces[who];
            self.nonces[who] += 1;
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
                    self.tokens[rng.random_range(0..self.tokens.len())],
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
            let signed: TxEnvelope = self.senders[who].sign(tx);
            transactions.push(signed);
        }
        let per_block = TXS / 8;
        let blocks = transactions
            .chunks(per_block)
            .enumerate()
            .map(|(i, txs)| BatchBlock {
                number: first_block + i as u64,
                timestamp: 5_000 + first_block / 4 + (i as u64) / 4,
                l1_origin: 700,
                transactions: txs.to_vec(),
            })
            .collect();
        Batch { blocks }
    }
}

/// Batches of history before the measured one when the address table is warm (20 s of traffic).
const WARM_UP_BATCHES: u64 = 10;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    for (name, unique, erc20_share, warm) in [
        ("realistic", false, 0.3, true),
        ("realistic", false, 0.3, false),
        ("transfers_only", false, 0.0, true),
        ("transfers_only", false, 0.0, false),
        ("unique_recipients", true, 0.3, false),
    ] {
        let mut population = Population::new(1);
        // Warm: the table holds what earlier batches of the same traffic introduced.
        let mut table = AddressTable::default();
        let history = if warm { WARM_UP_BATCHES } else { 0 };
        for i in 0..history {
            let earlier = population.batch(unique, erc20_share, 100 + i, 1_000 + i * 8);
            let (_, new) = earlier
                .encode(CHAIN_ID, Compression::Brotli, &table)
                .unwrap();
            table.extend(&new);
        }
        let batch = population.batch(unique, erc20_share, 7, 1_000 + history * 8);
        let txs: usize = batch.blocks.iter().map(|b| b.transactions.len()).sum();
        let raw: usize = batch
            .blocks
            .iter()
            .flat_map(|b| &b.transactions)
            .map(alloy_eips::eip2718::Encodable2718::encode_2718_len)
            .sum();
        for compression in [Compression::Brotli, Compression::Zstd] {
            let (encoded, _) = batch.encode(CHAIN_ID, compression, &table).unwrap();
            assert_eq!(
                Batch::decode(&encoded, CHAIN_ID, &Limits::default(), &table)
                    .unwrap()
                    .0,
                batch,
                "round trip"
            );
            let table_state = if warm { "warm" } else { "cold" };
            println!(
                "rollup::batch_bytes/mix={name}/table={table_state}/compression={compression:?}: {:.1} L1 bytes per L2 transaction ({} transactions, {} bytes raw signed, {:.2}x, {} known addresses)",
                encoded.len() as f64 / txs as f64,
                txs,
                raw,
                raw as f64 / encoded.len() as f64,
                table.len()
            );
        }
    }
}
