//! What EXECUTE costs: the witness and L1 gas of one L2 block re-executed statelessly, for blocks
//! of plain transfers (the common case) and for adversarial blocks that touch as much state per
//! unit of L2 gas as they can (cold BALANCE of many accounts; EXTCODESIZE of many 24 KB
//! contracts), each as large as the block's witness budget lets it be, on a state of 100,000
//! accounts; the worst case (the largest witness with a full block of gas); and how long the
//! re-execution takes.
//! Run: `cargo bench -p tandem-execution --bench execute`
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use criterion::{Criterion, criterion_group, criterion_main};
use tandem_execution::{
    genesis_block,
    l2::{L1Origin, L2BlockInputs, execute_l2_block},
    stateless::{OutputPreimage, encode_inputs, execute_stateless},
    system::execute::{
        EXECUTE_BASE_GAS, EXECUTE_GAS_PER_BYTE, EXECUTE_GAS_PER_L2_GAS, EXECUTE_GAS_PER_TX,
    },
    witness::{ExecutionWitness, execution_witness_for},
};
use tandem_primitives::{ChainConfig, GenesisAccount, StoredTx, dev, genesis, system};
use tandem_state::LatestState;
use tandem_storage::Storage;

const ACCOUNTS: u64 = 100_000;
const SENDERS: u64 = 2_000;
const BIG_CONTRACTS: u64 = 300;
const PROBE: Address = Address::new([0x9b; 20]);

/// Calls EXTCODESIZE (0x3b) or BALANCE (0x31) on every 32-byte address word of its calldata.
fn probe_code(op: u8) -> Bytes {
    let mut code =
        alloy_primitives::hex::decode("5f5b8036111560135780353b506020016001565b00").unwrap();
    code[11] = op;
    code.into()
}

fn sender(i: u64) -> dev::DevAccount {
    dev::DevAccount::from_secret(keccak256((i + 1_000_000).to_be_bytes())).unwrap()
}

fn big_contract(i: u64) -> Address {
    Address::from_word(keccak256([b"big".as_slice(), &i.to_be_bytes()].concat()))
}

struct Setup {
    _dir: tempfile::TempDir,
    storage: Storage,
    chain: ChainConfig,
}

fn setup(probe_op: u8) -> Setup {
    let mut g = genesis::dev_l2_genesis();
    let eth = U256::from(10u64).pow(U256::from(18));
    for i in 0..ACCOUNTS {
        let address = Address::from_word(keccak256(i.to_be_bytes()));
        g.alloc.insert(
            address,
            GenesisAccount::default().with_balance(U256::from(i + 1)),
        );
    }
    for i in 0..SENDERS {
        g.alloc.insert(
            sender(i).address,
            GenesisAccount::default().with_balance(eth),
        );
    }
    for i in 0..BIG_CONTRACTS {
        let code: Vec<u8> = std::iter::once(0x00)
            .chain((0..24_575u64).map(|j| (i + j) as u8))
            .collect();
        g.alloc.insert(
            big_contract(i),
            GenesisAccount::default().with_code(Some(code.into())),
        );
    }
    g.alloc.insert(
        PROBE,
        GenesisAccount::default().with_code(Some(probe_code(probe_op))),
    );
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(&dir.path().join("db")).unwrap();
    let block = genesis_block(&storage.read().unwrap(), &g).unwrap();
    storage.commit(&block.into_commit()).unwrap();
    Setup {
        _dir: dir,
        storage,
        chain: genesis::chain_config(&g),
    }
}

fn signed(from: &dev::DevAccount, to: Address, gas: u64, input: Bytes) -> StoredTx {
    let tx = TxEip1559 {
        chain_id: ChainConfig::L2_DEV_CHAIN_ID,
        nonce: 0,
        gas_limit: gas,
        max_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(to),
        value: U256::from(1),
        input,
        ..Default::default()
    };
    StoredTx {
        sender: from.address,
        tx: from.sign(tx),
    }
}

/// L2 block 1 of `txs`.
fn inputs_of(s: &Setup, txs: Vec<StoredTx>) -> L2BlockInputs {
    let parent = s.storage.read().unwrap().header(0).unwrap().unwrap();
    L2BlockInputs {
        timestamp: parent.timestamp + 1,
        l1_origin: L1Origin {
            number: 1,
            hash: B256::repeat_byte(1),
            timestamp: parent.timestamp,
            base_fee: 1,
        },
        queue: Vec::new(),
        transactions: txs,
    }
}

/// Executes `inputs` as L2 block 1 (not committed).
fn block_1(s: &Setup, inputs: &L2BlockInputs) -> tandem_execution::l2::L2Block {
    let reader = s.storage.read().unwrap();
    let parent = reader.header(0).unwrap().unwrap();
    execute_l2_block(
        (&reader).into(),
        LatestState(&reader),
        &s.chain,
        &parent,
        inputs,
    )
    .unwrap()
}

/// The transactions of `txs` that fit in L2 block 1 (the rest pass its witness budget).
fn fitting(s: &Setup, txs: Vec<StoredTx>) -> Vec<StoredTx> {
    let inputs = inputs_of(s, txs);
    let included = block_1(s, &inputs).executed.block.block.transactions;
    inputs
        .transactions
        .into_iter()
        .filter(|t| included.contains(t))
        .collect()
}

/// The largest `n <= most` for which `make(n)` fits in one block.
fn largest(s: &Setup, most: u64, make: impl Fn(u64) -> Vec<StoredTx>) -> u64 {
    let (mut lo, mut hi) = (0, most);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fitting(s, make(mid)).len() == make(mid).len() {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// Executes `txs` as L2 block 1 (committed), then its witness and EXECUTE's price.
fn measure(
    s: &Setup,
    txs: Vec<StoredTx>,
) -> (L2BlockInputs, ExecutionWitness, OutputPreimage, u64) {
    let parent = s.storage.read().unwrap().header(0).unwrap().unwrap();
    let inputs = inputs_of(s, txs);
    let block = block_1(s, &inputs);
    assert!(block.skipped.is_empty(), "{:?}", block.skipped.first());
    let gas_used = block.executed.block.header().gas_used;
    s.storage.commit(&block.executed.into_commit()).unwrap();
    let reader = s.storage.read().unwrap();
    let witness = execution_witness_for(&reader, &s.chain, 1, &inputs).unwrap();
    let passer = |r: &tandem_storage::Reader| {
        r.account(system::L2_TO_L1_MESSAGE_PASSER)
            .unwrap()
            .map(|a| a.storage_root)
            .unwrap_or(tandem_state::EMPTY_ROOT_HASH)
    };
    let parent_output = OutputPreimage {
        state_root: parent.state_root,
        message_passer_root: passer(&reader),
        block_hash: parent.hash_slow(),
    };
    (inputs, witness, parent_output, gas_used)
}

/// Prints what EXECUTE of the block costs; returns the challenge transaction's L1 gas.
fn report(name: &str, inputs: &L2BlockInputs, witness: &ExecutionWitness, l2_gas: u64) -> u64 {
    let inputs_bytes = encode_inputs(inputs).len() as u64;
    let witness_bytes = alloy_rlp::encode(witness).len() as u64;
    let txs = inputs.transactions.len() as u64;
    let execute_gas = EXECUTE_BASE_GAS
        + EXECUTE_GAS_PER_BYTE * (inputs_bytes + witness_bytes)
        + EXECUTE_GAS_PER_TX * txs
        + EXECUTE_GAS_PER_L2_GAS * l2_gas;
    // The challenge transaction carries inputs and witness as calldata (16 gas a nonzero byte).
    let calldata_gas = 16 * (inputs_bytes + witness_bytes);
    let l1_gas = 21_000 + calldata_gas + execute_gas;
    println!(
        "{name:<44} L2 gas {l2_gas:>10}  witness {:>8} B  EXECUTE {execute_gas:>10} gas  L1 tx ~{l1_gas:>10} gas  ({:.1} L1 gas per L2 gas)",
        witness_bytes,
        l1_gas as f64 / l2_gas as f64
    );
    l1_gas
}

fn bench(c: &mut Criterion) {
    println!("state: {ACCOUNTS} accounts, {BIG_CONTRACTS} contracts of 24 KB");
    let s = setup(0x3b);
    let transfers = |n: u64| -> Vec<StoredTx> {
        (0..n)
            .map(|i| {
                signed(
                    &sender(i),
                    Address::from_word(keccak256((i + 7_000_000).to_be_bytes())),
                    21_000,
                    Bytes::new(),
                )
            })
            .collect()
    };
    // As many transfers to new accounts as the block's witness budget takes.
    let included = fitting(&s, transfers(1_000));
    let n = included.len();
    let (inputs, witness, parent, gas) = measure(&s, included);
    let mut worst = report(
        &format!("{n} transfers to new accounts (budget-full)"),
        &inputs,
        &witness,
        gas,
    );
    c.bench_function("EXECUTE of a budget-full block of transfers", |b| {
        b.iter(|| execute_stateless(&s.chain, &parent, &inputs, &witness).unwrap())
    });
    drop(s);
    // Adversarial: EXTCODESIZE of many 24 KB contracts (code enters the witness whole).
    let s = setup(0x3b);
    let probe = |op_gas: u64, words: Vec<u8>| vec![signed(&sender(0), PROBE, op_gas, words.into())];
    let code_words = |n: u64| (0..n).flat_map(|i| big_contract(i).into_word().0).collect();
    let n = largest(&s, BIG_CONTRACTS, |n| probe(1_000_000, code_words(n)));
    let (inputs, witness, _, gas) = measure(&s, probe(1_000_000, code_words(n)));
    worst = worst.max(report(
        &format!("EXTCODESIZE of {n} 24 KB contracts (budget-full)"),
        &inputs,
        &witness,
        gas,
    ));
    drop(s);
    // Adversarial: cold BALANCE of many accounts.
    let s = setup(0x31);
    let balance_words = |n: u64| (0..n).flat_map(|i| keccak256(i.to_be_bytes()).0).collect();
    let n = largest(&s, 3_000, |n| probe(10_000_000, balance_words(n)));
    let (inputs, witness, _, gas) = measure(&s, probe(10_000_000, balance_words(n)));
    worst = worst.max(report(
        &format!("BALANCE of {n} cold accounts (budget-full)"),
        &inputs,
        &witness,
        gas,
    ));
    // The worst case: the largest of these witnesses and, on top, the rest of a full block's gas
    // (pure computation reads nothing new), one L1 gas each.
    let full = ChainConfig::DEFAULT_GAS_LIMIT;
    println!(
        "worst case: the largest budget-full challenge plus {full} L2 gas of computation: ~{} L1 gas (L1 block: {} gas)",
        worst + EXECUTE_GAS_PER_L2_GAS * full,
        ChainConfig::L1_GAS_LIMIT
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
