//! Validators on Commonware's deterministic runtime and simulated network, with real redb storage
//! and real EVM execution. The same seed must give the same chain.
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, TxKind, U256};
use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
use commonware_macros::select;
use commonware_p2p::simulated::{self, Link, Network};
use commonware_runtime::{Clock, Quota, Runner, Supervisor as _, deterministic};
use commonware_utils::{NZU32, NZUsize, TryCollect, ordered::Set, probability};
use parking_lot::Mutex;
use std::{sync::Arc, time::Duration};
use tandem_consensus::{Block, Chain, Channels, Config};
use tandem_execution::{genesis_block, recover_sender};
use tandem_mempool::{AccountState, Mempool};
use tandem_primitives::{dev, genesis};
use tandem_storage::Storage;

const VALIDATORS: u64 = 4;
const QUOTA: Quota = Quota::per_second(NZU32!(10_000));
const LINK: Link = Link {
    latency: Duration::from_millis(20),
    jitter: Duration::from_millis(5),
    success_rate: probability!(1.0),
};

/// What one validator ended with: (number, block hash, state root, transactions) of every committed block.
type ChainView = Vec<(u64, B256, B256, usize)>;

fn transfers(count: u64) -> Vec<tandem_primitives::TxEnvelope> {
    (0..count)
        .map(|i| {
            let tx = TxEip1559 {
                chain_id: 900,
                nonce: i / 5,
                gas_limit: 21_000,
                max_fee_per_gas: 100_000_000_000,
                max_priority_fee_per_gas: 1_000_000_000,
                to: TxKind::Call(Address::with_last_byte(0x10 + (i % 7) as u8)),
                value: U256::from(1_000 + i),
                ..Default::default()
            };
            dev::accounts()[(i % 5) as usize].sign(tx)
        })
        .collect()
}

/// Runs `VALIDATORS` validators until each has committed `target` blocks; returns each one's chain.
fn run(seed: u64, target: u64, txs: u64) -> Vec<ChainView> {
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().to_path_buf();
    let config = deterministic::Config::new()
        .with_seed(seed)
        .with_timeout(Some(Duration::from_secs(600)));
    deterministic::Runner::new(config).start(|context| async move {
        let signers: Vec<PrivateKey> = (0..VALIDATORS).map(PrivateKey::from_seed).collect();
        let validators: Set<_> = signers
            .iter()
            .map(|s| s.public_key())
            .try_collect()
            .unwrap();
        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: 16 * 1024 * 1024,
                max_peers_per_set: NZUsize!(VALIDATORS as usize),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
            validators.iter().cloned(),
        )
        .await;
        network.start();

        let genesis_config = genesis::dev_genesis(900);
        let chain_config = genesis::chain_config(&genesis_config);
        let mut chains = Vec::new();
        for (i, signer) in signers.iter().enumerate() {
            let storage =
                Arc::new(Storage::open(&dir_path.join(format!("validator-{i}.redb"))).unwrap());
            let eth_genesis = genesis_block(&storage.read().unwrap(), &genesis_config).unwrap();
            storage.commit(&eth_genesis.clone().into_commit()).unwrap();
            let pool = Mempool::new(
                Default::default(),
                900,
                chain_config.gas_limit,
                chain_config.fees.min_base_fee_wei,
            );
            let chain = Arc::new(Chain::new(
                storage,
                Arc::new(Mutex::new(pool)),
                chain_config.clone(),
                Address::with_last_byte(0xf0 + i as u8),
                true,
                None,
            ));
            let control = oracle.control(signer.public_key());
            let channels = Channels {
                votes: control.register(0, QUOTA).await.unwrap(),
                certificates: control.register(1, QUOTA).await.unwrap(),
                resolver: control.register(2, QUOTA).await.unwrap(),
                broadcast: control.register(3, QUOTA).await.unwrap(),
                backfill: control.register(4, QUOTA).await.unwrap(),
            };
            let first = validators.iter().next().unwrap().clone();
            let config = Config {
                signer: signer.clone(),
                validators: validators.clone(),
                partition: format!("validator-{i}"),
                namespace: b"tandem-test".to_vec(),
                genesis: Block::genesis(eth_genesis.block, first),
                leader_timeout: Duration::from_secs(1),
                certification_timeout: Duration::from_secs(2),
                block_time: Duration::ZERO,
                mailbox_size: 1024,
            };
            tandem_consensus::start(
                context.child("validator").with_attribute("index", i),
                config,
                chain.clone(),
                oracle.manager(),
                control,
                channels,
            )
            .await;
            chains.push(chain);
        }
        for a in validators.iter() {
            for b in validators.iter() {
                if a != b {
                    oracle.add_link(a.clone(), b.clone(), LINK).await.unwrap();
                }
            }
        }
        // Every validator's pool gets the transactions (as gossip would deliver them).
        for tx in transfers(txs) {
            let sender = recover_sender(&tx).unwrap();
            for chain in &chains {
                let account = chain
                    .storage
                    .read()
                    .unwrap()
                    .account(sender)
                    .unwrap()
                    .unwrap();
                chain
                    .pool
                    .lock()
                    .add(
                        tx.clone(),
                        sender,
                        AccountState {
                            nonce: account.nonce,
                            balance: account.balance,
                        },
                    )
                    .unwrap();
            }
        }
        loop {
            let done = chains
                .iter()
                .all(|c| c.committed_height().unwrap() >= target);
            if done {
                break;
            }
            select! {
                _ = context.sleep(Duration::from_millis(100)) => {},
            }
        }
        chains
            .iter()
            .map(|c| {
                let reader = c.storage.read().unwrap();
                (1..=target)
                    .map(|n| {
                        let block = reader.block(n).unwrap().unwrap();
                        (
                            n,
                            block.hash,
                            block.header().state_root,
                            block.block.transactions.len(),
                        )
                    })
                    .collect()
            })
            .collect()
    })
}

#[test]
fn all_online_validators_finalize_the_same_blocks_and_the_same_seed_gives_the_same_chain() {
    for seed in [1u64, 2] {
        let first = run(seed, 8, 40);
        for view in &first[1..] {
            assert_eq!(
                view, &first[0],
                "seed {seed}: every validator finalizes the same blocks and state roots"
            );
        }
        let included: usize = first[0].iter().map(|b| b.3).sum();
        assert_eq!(
            included, 40,
            "seed {seed}: every transaction is included exactly once: {:?}",
            first[0]
        );
        let second = run(seed, 8, 40);
        assert_eq!(
            first, second,
            "seed {seed}: the same seed gives the same chain"
        );
    }
}
