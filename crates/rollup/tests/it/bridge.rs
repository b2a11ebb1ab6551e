//! The bridge end to end inside one process: an L1 chain with the Portal and OutputOracle, an L2
//! chain built from its queue, outputs proposed on L1, withdrawals proven and paid out. Every
//! block goes through the real executor, system contracts and redb storage; L1 time is chosen by
//! the test, so challenge windows pass without waiting.
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_sol_types::{SolCall, SolEvent};
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::sync::Arc;
use tandem_execution::{
    BlockAttributes, Executor,
    l2::{L1Origin, L2BlockInputs, L2Error, QueuedTx, execute_l2_block},
    system::{IBatchInbox, IL2ToL1MessagePasser, IOutputOracle, IPortal, portal::MAX_QUEUED_GAS},
};
use tandem_primitives::protocol::{Withdrawal, deposit_transaction};
use tandem_primitives::{
    BridgeParams, ChainConfig, Genesis, GenesisAccount, Receipt, StoredTx, TxEnvelope, dev,
    genesis,
    system::{self, BATCH_INBOX, L2_TO_L1_MESSAGE_PASSER, OUTPUT_ORACLE, PORTAL},
};
use tandem_rollup::{
    AddressTable, Batch, BatchBlock, Compression,
    outputs::{output_at, proposal},
    withdrawals::{WithdrawalArgs, WithdrawalProof},
};
use tandem_state::LatestState;
use tandem_storage::Storage;

pub(crate) const WINDOW: u64 = 100;
/// L2 blocks per output.
pub(crate) const INTERVAL: u64 = 2;
pub(crate) const PROPOSER: usize = 8;
const RELAYER: usize = 7;
/// An L1 contract that forwards its calldata and value to the Portal (so the Portal sees a
/// contract caller): CALLDATACOPY, CALL(gas, portal, callvalue, 0, calldatasize, 0, 0), revert on failure.
const FORWARDER: Address = Address::new([0xf0; 20]);
/// The same, forwarding to BatchInbox (code an EOA can delegate to with EIP-7702).
pub(crate) const BATCH_FORWARDER: Address = Address::new([0xf1; 20]);

fn forwarder_code() -> Bytes {
    forwarder_to(PORTAL)
}

fn forwarder_to(target: Address) -> Bytes {
    let mut code = hex("365f5f375f5f365f3473");
    code.extend_from_slice(target.as_slice());
    code.extend_from_slice(&hex("5af11560255700"));
    code.extend_from_slice(&hex("5b5f5ffd"));
    code.into()
}

fn hex(s: &str) -> Vec<u8> {
    alloy_primitives::hex::decode(s).unwrap()
}

pub(crate) struct Chain {
    pub(crate) storage: Arc<Storage>,
    pub(crate) config: ChainConfig,
}

impl Chain {
    pub(crate) fn new(dir: &tempfile::TempDir, name: &str, g: &Genesis) -> Self {
        let storage = Arc::new(Storage::open(&dir.path().join(name)).unwrap());
        tandem_rpc::init_genesis(&storage, g).unwrap();
        Self {
            storage,
            config: genesis::chain_config(g),
        }
    }

    pub(crate) fn head(&self) -> tandem_primitives::Header {
        let reader = self.storage.read().unwrap();
        reader
            .header(reader.last_height().unwrap())
            .unwrap()
            .unwrap()
    }

    pub(crate) fn balance(&self, address: Address) -> U256 {
        let reader = self.storage.read().unwrap();
        reader
            .account(address)
            .unwrap()
            .map(|a| a.balance)
            .unwrap_or_default()
    }

    pub(crate) fn nonce(&self, address: Address) -> u64 {
        let reader = self.storage.read().unwrap();
        reader
            .account(address)
            .unwrap()
            .map(|a| a.nonce)
            .unwrap_or_default()
    }
}

/// L1, L2 and what the test has seen move between them.
pub(crate) struct Bridge {
    _dir: tempfile::TempDir,
    pub(crate) l1: Chain,
    pub(crate) l2: Chain,
    pub(crate) queue: Vec<QueuedTx>,
    pub(crate) l1_time: u64,
    /// ETH minted on L2 by deposits, and paid out on L1 by withdrawals.
    pub(crate) minted: U256,
    paid: U256,
    /// Withdrawals initiated and not paid out yet, with their L2 block.
    pending: Vec<(Withdrawal, u64)>,
    /// L2 blocks covered by outputs so far.
    pub(crate) proposed_to: u64,
    /// The inputs each L2 block was built from, the batches posted (by sequence) with the blocks
    /// they carry, and the address table they built.
    pub(crate) inputs: std::collections::BTreeMap<u64, L2BlockInputs>,
    pub(crate) batches: Vec<(Bytes, u64, u64)>,
    pub(crate) table: AddressTable,
    /// How the transactions of the last L1 block ended (revert data included).
    pub(crate) last_results:
        Vec<tandem_execution::revm::context_interface::result::ExecutionResult>,
}

impl Bridge {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut g1 = tandem_execution::dev_genesis(ChainConfig::L1_DEV_CHAIN_ID);
        genesis::set_bridge_params(
            &mut g1,
            &BridgeParams {
                challenge_window: WINDOW,
                output_interval: INTERVAL,
                ..BridgeParams::dev()
            },
        );
        g1.alloc.insert(
            FORWARDER,
            GenesisAccount::default().with_code(Some(forwarder_code())),
        );
        g1.alloc.insert(
            BATCH_FORWARDER,
            GenesisAccount::default().with_code(Some(forwarder_to(BATCH_INBOX))),
        );
        let g2 = genesis::dev_l2_genesis();
        let l2 = Chain::new(&dir, "l2", &g2);
        let genesis_output = output_at(&l2.storage.read().unwrap(), 0).unwrap().unwrap();
        let in_memory = tandem_execution::genesis_output(&g2).unwrap();
        assert_eq!(in_memory.root(), genesis_output.output_root);
        assert_eq!(
            g1.alloc[&system::DISPUTE_GAME].storage.as_ref().unwrap()[&B256::ZERO],
            genesis_output.output_root,
            "the dev L1 genesis records the dev L2's genesis output"
        );
        let l1 = Chain::new(&dir, "l1", &g1);
        Self {
            _dir: dir,
            l1,
            l2,
            queue: Vec::new(),
            l1_time: 1_000,
            minted: U256::ZERO,
            paid: U256::ZERO,
            pending: Vec::new(),
            proposed_to: 0,
            inputs: Default::default(),
            batches: Vec::new(),
            table: AddressTable::default(),
            last_results: Vec::new(),
        }
    }

    pub(crate) fn l1_tx(
        &self,
        from: usize,
        to: Address,
        value: U256,
        input: Vec<u8>,
    ) -> (TxEnvelope, Address) {
        self.l1_tx_with_gas(from, to, value, input, 3_000_000)
    }

    /// [`Bridge::l1_tx`] with `gas`.
    pub(crate) fn l1_tx_with_gas(
        &self,
        from: usize,
        to: Address,
        value: U256,
        input: Vec<u8>,
        gas: u64,
    ) -> (TxEnvelope, Address) {
        self.l1_tx_to(from, TxKind::Call(to), value, input, gas)
    }

    /// [`Bridge::l1_tx`] with `gas`, to a call or a creation.
    pub(crate) fn l1_tx_to(
        &self,
        from: usize,
        to: TxKind,
        value: U256,
        input: Vec<u8>,
        gas: u64,
    ) -> (TxEnvelope, Address) {
        let account = &dev::accounts()[from];
        let tx = TxEip1559 {
            chain_id: ChainConfig::L1_DEV_CHAIN_ID,
            nonce: self.l1.nonce(account.address),
            gas_limit: gas,
            max_fee_per_gas: 100_000_000_000,
            max_priority_fee_per_gas: 1,
            to,
            value,
            input: input.into(),
            ..Default::default()
        };
        (account.sign(tx), account.address)
    }

    /// One L1 block of deposits of `amount` to each of `to`, the i-th sent by dev account i.
    pub(crate) fn fund(&mut self, to: &[Address], amount: U256) {
        let txs = to
            .iter()
            .enumerate()
            .map(|(from, to)| {
                self.l1_tx(
                    from,
                    PORTAL,
                    amount,
                    deposit_call(*to, amount, 100_000, vec![]),
                )
            })
            .collect();
        self.mine_l1(txs, 1);
    }

    /// Executes one transaction on top of L1's head, one second later, without committing it.
    pub(crate) fn try_l1(
        &self,
        (tx, sender): (TxEnvelope, Address),
    ) -> Result<tandem_execution::TxOutcome, tandem_execution::Error> {
        let reader = self.l1.storage.read().unwrap();
        let parent = self.l1.head();
        let attrs = BlockAttributes {
            timestamp: parent.timestamp + 1,
            beneficiary: Address::ZERO,
            prev_randao: B256::ZERO,
        };
        Executor::new(
            &reader,
            LatestState(&reader),
            &self.l1.config,
            &parent,
            &attrs,
        )
        .execute(tx, sender)
    }

    /// Mines one L1 block of `txs` (one per sender) `seconds` after the last, reads the Portal's
    /// events into the queue and returns the receipts.
    pub(crate) fn mine_l1(
        &mut self,
        txs: Vec<(TxEnvelope, Address)>,
        seconds: u64,
    ) -> Vec<Receipt> {
        self.l1_time += seconds;
        let reader = self.l1.storage.read().unwrap();
        let parent = self.l1.head();
        let attrs = BlockAttributes {
            timestamp: self.l1_time,
            beneficiary: Address::ZERO,
            prev_randao: B256::ZERO,
        };
        let mut executor = Executor::new(
            &reader,
            LatestState(&reader),
            &self.l1.config,
            &parent,
            &attrs,
        );
        self.last_results.clear();
        for (tx, sender) in txs {
            let outcome = executor.execute(tx, sender).unwrap();
            self.last_results.push(outcome.result);
        }
        let executed = executor.finish().unwrap();
        drop(reader);
        let number = executed.block.number();
        for log in executed.receipts.iter().flat_map(|r| r.logs().to_vec()) {
            if log.address != PORTAL {
                continue;
            }
            if let Ok(e) = IPortal::TransactionDeposited::decode_log_data(&log.data) {
                let deposit =
                    deposit_transaction(e.index, e.from, e.to, e.mint, e.value, e.gasLimit, e.data);
                self.queue.push(QueuedTx {
                    index: e.index,
                    l1_block: number,
                    tx: StoredTx {
                        sender: e.from,
                        tx: TxEnvelope::Deposit(alloy_primitives::Sealed::new(deposit)),
                    },
                });
            } else if let Ok(e) = IPortal::TransactionForced::decode_log_data(&log.data) {
                let tx =
                    alloy_eips::eip2718::Decodable2718::decode_2718_exact(e.transaction.as_ref())
                        .unwrap();
                self.queue.push(QueuedTx {
                    index: e.index,
                    l1_block: number,
                    tx: StoredTx {
                        sender: e.sender,
                        tx,
                    },
                });
            }
        }
        let receipts = executed.receipts.clone();
        self.l1.storage.commit(&executed.into_commit()).unwrap();
        receipts
    }

    /// Mines one L2 block on the newest L1 block as origin, with the queue's due entries first.
    pub(crate) fn mine_l2(&mut self, transactions: Vec<StoredTx>) -> tandem_execution::l2::L2Block {
        let l1_head = self.l1.head();
        let origin = L1Origin {
            number: l1_head.number,
            hash: l1_head.hash_slow(),
            timestamp: l1_head.timestamp,
            base_fee: l1_head.base_fee_per_gas.unwrap_or_default(),
        };
        let parent = self.l2.head();
        let inputs = L2BlockInputs {
            timestamp: parent.timestamp.max(origin.timestamp),
            l1_origin: origin,
            queue: self.queue.clone(),
            transactions,
        };
        let reader = self.l2.storage.read().unwrap();
        let block = execute_l2_block(
            (&reader).into(),
            LatestState(&reader),
            &self.l2.config,
            &parent,
            &inputs,
        )
        .unwrap();
        drop(reader);
        self.l2
            .storage
            .commit(&block.executed.clone().into_commit())
            .unwrap();
        self.inputs.insert(block.executed.block.number(), inputs);
        block
    }

    /// Posts the L2 blocks no batch carries yet to BatchInbox, as the batcher does.
    pub(crate) fn post_batches(&mut self) {
        let head = self.l2.head().number;
        let from = self.batches.last().map_or(1, |(_, _, last)| last + 1);
        if from > head {
            return;
        }
        let reader = self.l2.storage.read().unwrap();
        let blocks = (from..=head)
            .map(|number| {
                let block = reader.block(number).unwrap().unwrap();
                let header = block.header();
                let queued = L1Origin::queued_of(header);
                BatchBlock {
                    number,
                    timestamp: header.timestamp,
                    l1_origin: L1Origin::of_header(header).unwrap().number,
                    transactions: block.block.transactions[queued..]
                        .iter()
                        .map(|t| t.tx.clone())
                        .collect(),
                }
            })
            .collect();
        drop(reader);
        self.post_batch(Batch { blocks });
    }

    /// Posts `batch` to BatchInbox (it must be accepted).
    pub(crate) fn post_batch(&mut self, batch: Batch) {
        let (data, new) = batch
            .encode(
                ChainConfig::L2_DEV_CHAIN_ID,
                Compression::Brotli,
                &self.table,
            )
            .unwrap();
        let call = IBatchInbox::submitBatchCall {
            sequence: self.batches.len() as u64,
            batch: data.clone().into(),
        };
        // A batch pays per byte, transaction and new address: a large one takes more than 3M.
        let tx = self.l1_tx_with_gas(
            dev::DEV_BATCHER,
            BATCH_INBOX,
            U256::ZERO,
            call.abi_encode(),
            10_000_000,
        );
        let receipts = self.mine_l1(vec![tx], 1);
        assert!(receipts[0].status(), "BatchInbox takes the batch");
        self.table.extend(&new);
        let (first, last) = (batch.blocks[0].number, batch.blocks.last().unwrap().number);
        self.batches.push((data.into(), first, last));
    }

    /// The honest proposer's transaction for the next output (the interval's blocks after the
    /// last proposed), on top of its own chain's output.
    pub(crate) fn next_proposal(&self) -> (TxEnvelope, Address) {
        let (first, last) = (self.proposed_to + 1, self.proposed_to + INTERVAL);
        let reader = self.l2.storage.read().unwrap();
        let p = proposal(&reader, first, last).unwrap().unwrap();
        let parent = output_at(&reader, self.proposed_to).unwrap().unwrap();
        let call = IOutputOracle::proposeOutputCall {
            outputRoot: p.output.output_root,
            l2BlockNumber: last,
            parentOutputRoot: parent.output_root,
            blockRoots: p.block_roots,
        };
        self.l1_tx(
            PROPOSER,
            OUTPUT_ORACLE,
            BridgeParams::dev().min_bond,
            call.abi_encode(),
        )
    }

    /// Proposes the output of every L2 block up to the head that the interval makes due.
    pub(crate) fn propose(&mut self) {
        self.post_batches();
        let head = self.l2.head().number;
        while self.proposed_to + INTERVAL <= head {
            let last = self.proposed_to + INTERVAL;
            let tx = self.next_proposal();
            let receipts = self.mine_l1(vec![tx], 1);
            assert!(
                receipts[0].status(),
                "proposing the output of L2 block {last}"
            );
            self.proposed_to = last;
        }
    }

    /// The output root L1 holds for the block the next output builds on (the newest output's, or
    /// the L2 genesis output).
    pub(crate) fn parent_on_l1(&self) -> B256 {
        let reader = self.l1.storage.read().unwrap();
        let slot = match self.output_count().checked_sub(1) {
            Some(last) => tandem_execution::system::output_oracle::output_slot(last, 0),
            None => tandem_execution::system::dispute_game::GENESIS_OUTPUT_SLOT,
        };
        let address = match self.output_count() {
            0 => system::DISPUTE_GAME,
            _ => OUTPUT_ORACLE,
        };
        B256::from(reader.storage(address, B256::from(slot)).unwrap())
    }

    pub(crate) fn output_count(&self) -> u64 {
        self.l1_slot(OUTPUT_ORACLE, 0).saturating_to()
    }

    pub(crate) fn l1_slot(&self, address: Address, slot: u64) -> U256 {
        let reader = self.l1.storage.read().unwrap();
        reader
            .storage(address, B256::from(U256::from(slot)))
            .unwrap()
    }

    /// The proof of `withdrawal` against output `index` (which covers L2 block `last`).
    pub(crate) fn proof(&self, withdrawal: &Withdrawal, index: u64, last: u64) -> WithdrawalProof {
        let reader = self.l2.storage.read().unwrap();
        let output = output_at(&reader, last).unwrap().unwrap();
        let slot = B256::from(tandem_execution::system::message_passer::sent_message_slot(
            withdrawal.hash(),
        ));
        let proof =
            tandem_state::prove(&reader, output.state_root, L2_TO_L1_MESSAGE_PASSER, &[slot])
                .unwrap();
        WithdrawalProof {
            withdrawal: WithdrawalArgs {
                nonce: withdrawal.nonce,
                sender: withdrawal.sender,
                target: withdrawal.target,
                value: withdrawal.value,
                gas_limit: withdrawal.gas_limit,
                data: withdrawal.data.clone(),
            },
            output_index: index,
            output_root_proof: output,
            withdrawal_proof: proof.storage[0].proof.clone(),
        }
    }

    /// Sends `Portal.finalizeWithdrawal` with `calldata` from the relayer; true if it succeeded.
    pub(crate) fn finalize(&mut self, calldata: Bytes) -> bool {
        let tx = self.l1_tx(RELAYER, PORTAL, U256::ZERO, calldata.to_vec());
        self.mine_l1(vec![tx], 1)[0].status()
    }
}

/// A fresh L2 account with no genesis balance: what it has, a deposit brought.
pub(crate) fn fresh(i: u64) -> dev::DevAccount {
    dev::DevAccount::from_secret(keccak256(i.to_be_bytes())).unwrap()
}

pub(crate) fn l2_call(
    from: &dev::DevAccount,
    nonce: u64,
    to: Address,
    value: U256,
    input: Vec<u8>,
) -> StoredTx {
    l2_tx(from, nonce, TxKind::Call(to), value, input, 200_000)
}

/// A signed L2 transaction from `from` to a call or a creation.
pub(crate) fn l2_tx(
    from: &dev::DevAccount,
    nonce: u64,
    to: TxKind,
    value: U256,
    input: Vec<u8>,
    gas: u64,
) -> StoredTx {
    let tx = from.sign(TxEip1559 {
        chain_id: ChainConfig::L2_DEV_CHAIN_ID,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: 100_000_000,
        max_priority_fee_per_gas: 0,
        to,
        value,
        input: input.into(),
        ..Default::default()
    });
    StoredTx {
        sender: from.address,
        tx,
    }
}

pub(crate) fn deposit_call(to: Address, value: U256, gas: u64, data: Vec<u8>) -> Vec<u8> {
    IPortal::depositTransactionCall {
        to,
        value,
        gasLimit: gas,
        data: data.into(),
    }
    .abi_encode()
}

#[test]
fn deposits_and_withdrawals_conserve_eth_and_pay_out_once() {
    let mut b = Bridge::new();
    let mut rng = StdRng::seed_from_u64(7);
    let users: Vec<dev::DevAccount> = (0..4).map(fresh).collect();
    let mut checked_negatives = false;
    for round in 0..12 {
        // Deposits from dev accounts on L1 to fresh accounts on L2; some with a call that reverts.
        let mut txs = Vec::new();
        for from in 0..rng.random_range(1..4usize) {
            let to = users[rng.random_range(0..users.len())].address;
            let amount =
                U256::from(rng.random_range(1u64..1_000)) * U256::from(10u64).pow(U256::from(15));
            let (target, data) = if rng.random_bool(0.2) {
                // The L1 fee vault's code is INVALID: the call fails, the mint must not.
                (system::L1_FEE_VAULT, vec![1, 2, 3])
            } else {
                (to, Vec::new())
            };
            txs.push(b.l1_tx(
                from,
                PORTAL,
                amount,
                deposit_call(target, amount, 100_000, data),
            ));
            b.minted += amount;
        }
        for r in b.mine_l1(txs, 2) {
            assert!(r.status(), "deposit in round {round}");
        }
        // INTERVAL L2 blocks; withdrawals from users who have something.
        for _ in 0..INTERVAL {
            let mut txs = Vec::new();
            for user in &users {
                let balance = b.l2.balance(user.address);
                if balance < U256::from(10u64).pow(U256::from(15)) || !rng.random_bool(0.5) {
                    continue;
                }
                let value = balance / U256::from(rng.random_range(2u64..5));
                let call = IL2ToL1MessagePasser::initiateWithdrawalCall {
                    to: user.address,
                    gasLimit: 100_000,
                    data: Bytes::new(),
                };
                txs.push(l2_call(
                    user,
                    b.l2.nonce(user.address),
                    L2_TO_L1_MESSAGE_PASSER,
                    value,
                    call.abi_encode(),
                ));
            }
            let block = b.mine_l2(txs);
            assert!(block.skipped.is_empty(), "{:?}", block.skipped);
            let number = block.executed.block.number();
            for log in block
                .executed
                .receipts
                .iter()
                .flat_map(|r| r.logs().to_vec())
            {
                if let Ok(e) = IL2ToL1MessagePasser::MessagePassed::decode_log_data(&log.data) {
                    b.pending.push((Withdrawal::from_event(&e), number));
                }
            }
        }
        // Every queued entry is in L2 now, in order, and L2 records the L1 queue hash.
        let reader = b.l2.storage.read().unwrap();
        let index = reader
            .storage(system::L1_BLOCK, B256::from(U256::from(4)))
            .unwrap();
        let l2_queue_hash = reader
            .storage(system::L1_BLOCK, B256::from(U256::from(5)))
            .unwrap();
        drop(reader);
        assert_eq!(
            index,
            U256::from(b.queue.len()),
            "round {round}: queue index on L2"
        );
        // The Portal's queue hash (slot 1) is what L2 recorded.
        assert_eq!(
            l2_queue_hash,
            b.l1_slot(PORTAL, 1),
            "round {round}: queue hash"
        );
        b.propose();

        // Every few rounds, let the window pass and pay out what the final outputs cover.
        if round % 3 == 2 {
            let count = b.output_count();
            let last_index = count - 1;
            let last_block = b.proposed_to;
            let pending = std::mem::take(&mut b.pending);
            if !checked_negatives && let Some((w, _)) = pending.first() {
                // Not final yet: refused.
                assert!(!b.finalize(b.proof(w, last_index, last_block).calldata()));
                checked_negatives = true;
                b.mine_l1(Vec::new(), WINDOW);
                // A wrong output root proof: refused.
                let mut wrong = b.proof(w, last_index, last_block);
                wrong.output_root_proof.state_root = B256::repeat_byte(1);
                assert!(!b.finalize(wrong.calldata()));
                // A proof against another (final) output whose root it does not match: refused.
                let mut other = b.proof(w, last_index, last_block);
                other.output_index = 0;
                assert!(!b.finalize(other.calldata()));
                // A tampered withdrawal (more value) fails the storage proof.
                let mut greedy = b.proof(w, last_index, last_block);
                greedy.withdrawal.value += U256::from(1);
                assert!(!b.finalize(greedy.calldata()));
                // A storage proof with a node missing: refused.
                let mut short = b.proof(w, last_index, last_block);
                short.withdrawal_proof.pop();
                assert!(!b.finalize(short.calldata()));
            } else {
                b.mine_l1(Vec::new(), WINDOW);
            }
            for (w, _) in &pending {
                let before = b.l1.balance(w.target);
                assert!(
                    b.finalize(b.proof(w, last_index, last_block).calldata()),
                    "finalize {w:?}"
                );
                assert_eq!(b.l1.balance(w.target), before + w.value, "paid exactly");
                b.paid += w.value;
                // Twice: refused, nothing paid.
                assert!(!b.finalize(b.proof(w, last_index, last_block).calldata()));
                assert_eq!(b.l1.balance(w.target), before + w.value);
            }
        }
        // Conservation: the Portal holds what was minted on L2 less what was paid out.
        assert_eq!(b.l1.balance(PORTAL), b.minted - b.paid, "round {round}");
    }
    assert!(b.paid > U256::ZERO, "some withdrawals were paid out");
    assert!(checked_negatives);
    // The message passer burns what it is sent.
    assert_eq!(b.l2.balance(L2_TO_L1_MESSAGE_PASSER), U256::ZERO);
}

#[test]
fn a_deposit_whose_call_reverts_still_mints_and_a_contract_depositor_is_aliased() {
    let mut b = Bridge::new();
    let amount = U256::from(10u64).pow(U256::from(18));
    let depositor = dev::accounts()[0].address;
    let before = b.l2.balance(depositor);
    let nonce_before = b.l2.nonce(depositor);
    // To the L1 fee vault, whose code is INVALID: the call fails.
    let revert = b.l1_tx(
        0,
        PORTAL,
        amount,
        deposit_call(
            system::L1_FEE_VAULT,
            amount / U256::from(2),
            100_000,
            vec![1],
        ),
    );
    // Through a contract: the L2 sender is the contract's alias.
    let aliased = b.l1_tx(
        1,
        FORWARDER,
        amount,
        deposit_call(Address::repeat_byte(0xaa), U256::ZERO, 50_000, Vec::new()),
    );
    for r in b.mine_l1(vec![revert, aliased], 1) {
        assert!(r.status());
    }
    let block = b.mine_l2(Vec::new());
    let receipts = &block.executed.receipts;
    assert_eq!(receipts.len(), 2);
    assert!(!receipts[0].status(), "the deposit's call reverted");
    assert_eq!(receipts[0].deposit_nonce(), Some(nonce_before));
    // The whole mint stays with the depositor (the call's value did not move), the nonce moved.
    assert_eq!(b.l2.balance(depositor), before + amount);
    assert_eq!(b.l2.nonce(depositor), nonce_before + 1);
    assert_eq!(b.l2.balance(system::L1_FEE_VAULT), U256::ZERO);
    // The contract's deposit came from its alias, which holds the mint.
    let alias = system::alias(FORWARDER);
    assert!(receipts[1].status());
    assert_eq!(block.executed.block.block.transactions[1].sender, alias);
    assert_eq!(b.l2.balance(alias), amount);
    assert_eq!(b.l2.balance(FORWARDER), U256::ZERO);
}

#[test]
fn queue_entries_cannot_be_skipped_or_reordered() {
    let mut b = Bridge::new();
    let amount = U256::from(10u64).pow(U256::from(17));
    let txs = (0..3)
        .map(|from| {
            b.l1_tx(
                from,
                PORTAL,
                amount,
                deposit_call(fresh(from as u64).address, U256::ZERO, 21_000, Vec::new()),
            )
        })
        .collect();
    b.mine_l1(txs, 1);
    assert_eq!(b.queue.len(), 3);
    let l1_head = b.l1.head();
    let origin = L1Origin {
        number: l1_head.number,
        hash: l1_head.hash_slow(),
        timestamp: l1_head.timestamp,
        base_fee: l1_head.base_fee_per_gas.unwrap_or_default(),
    };
    let run = |queue: Vec<QueuedTx>| {
        let parent = b.l2.head();
        let reader = b.l2.storage.read().unwrap();
        execute_l2_block(
            (&reader).into(),
            LatestState(&reader),
            &b.l2.config,
            &parent,
            &L2BlockInputs {
                timestamp: origin.timestamp,
                l1_origin: origin,
                queue,
                transactions: Vec::new(),
            },
        )
    };
    // Skipping the first entry, or swapping two, leaves a gap the state transition refuses.
    let skipped = run(b.queue[1..].to_vec());
    assert!(
        matches!(
            skipped,
            Err(L2Error::QueueGap {
                expected: 0,
                got: 1
            })
        ),
        "{skipped:?}"
    );
    let mut swapped = b.queue.clone();
    swapped.swap(0, 1);
    assert!(matches!(run(swapped), Err(L2Error::QueueGap { .. })));
    // Handing over the queue in order includes every entry, in order.
    let block = run(b.queue.clone()).unwrap();
    let included: Vec<B256> = block
        .executed
        .block
        .block
        .transactions
        .iter()
        .map(|t| t.tx.tx_hash())
        .collect();
    let queued: Vec<B256> = b.queue.iter().map(|q| q.tx.tx.tx_hash()).collect();
    assert_eq!(included, queued);
    // An entry queued in a later L1 block than the origin waits for a later origin.
    let late = QueuedTx {
        l1_block: origin.number + 1,
        ..b.queue[0].clone()
    };
    let waiting = run(vec![late]).unwrap();
    assert!(waiting.executed.block.block.transactions.is_empty());
}

#[test]
fn the_portal_refuses_bad_queue_entries() {
    let mut b = Bridge::new();
    let too_much_gas = b.l1_tx(
        0,
        PORTAL,
        U256::from(1),
        deposit_call(Address::ZERO, U256::ZERO, MAX_QUEUED_GAS + 1, Vec::new()),
    );
    let too_little = b.l1_tx(
        1,
        PORTAL,
        U256::from(1),
        deposit_call(Address::ZERO, U256::ZERO, 20_999, Vec::new()),
    );
    let garbage = b.l1_tx(
        2,
        PORTAL,
        U256::ZERO,
        IPortal::forceTransactionCall {
            signedL2Tx: Bytes::from_static(&[2, 0xc0]),
        }
        .abi_encode(),
    );
    let deposit_type = {
        let deposit = deposit_transaction(
            0,
            Address::ZERO,
            Address::ZERO,
            U256::ZERO,
            U256::ZERO,
            21_000,
            Bytes::new(),
        );
        let raw = alloy_eips::eip2718::Encodable2718::encoded_2718(&TxEnvelope::Deposit(
            alloy_primitives::Sealed::new(deposit),
        ));
        b.l1_tx(
            3,
            PORTAL,
            U256::ZERO,
            IPortal::forceTransactionCall {
                signedL2Tx: raw.into(),
            }
            .abi_encode(),
        )
    };
    let receipts = b.mine_l1(vec![too_much_gas, too_little, garbage, deposit_type], 1);
    assert!(receipts.iter().all(|r| !r.status()));
    assert!(b.queue.is_empty());
    // Nothing was locked.
    assert_eq!(b.l1.balance(PORTAL), U256::ZERO);
}

#[test]
fn a_sequencer_that_leaves_out_a_deposit_is_overruled_by_derivation() {
    use tandem_rollup::{
        AddressTable, Batch, BatchBlock, Compression,
        derivation::{Deriver, L1Batch},
        queue::PortalQueue,
    };
    let mut b = Bridge::new();
    let amount = U256::from(10u64).pow(U256::from(18));
    let user = fresh(42);
    let tx = b.l1_tx(
        0,
        PORTAL,
        amount,
        deposit_call(user.address, amount, 21_000, Vec::new()),
    );
    b.mine_l1(vec![tx], 1);
    // The cheating sequencer builds its block as if the queue were empty.
    let queue = std::mem::take(&mut b.queue);
    let cheat = b.mine_l2(Vec::new());
    assert_eq!(b.l2.balance(user.address), U256::ZERO);
    let header = cheat.executed.block.header();
    let origin = L1Origin::of_header(header).unwrap();
    let batch = Batch {
        blocks: vec![BatchBlock {
            number: 1,
            timestamp: header.timestamp,
            l1_origin: origin.number,
            transactions: Vec::new(),
        }],
    };
    let data = batch
        .encode(901, Compression::Brotli, &AddressTable::default())
        .unwrap()
        .0;
    // A verifier derives the block from L1: the deposit is in it regardless.
    let dir = tempfile::tempdir().unwrap();
    let g = genesis::dev_l2_genesis();
    let verifier = Chain::new(&dir, "verifier", &g);
    let batcher = dev::accounts()[dev::DEV_BATCHER].address;
    let mut deriver = Deriver::new(verifier.storage.clone(), verifier.config.clone(), batcher);
    *deriver.queue_mut() = PortalQueue::from_entries(queue.clone(), origin.number);
    let l1_batch = L1Batch {
        l1_block: origin.number,
        sender: batcher,
        sequence: 0,
        data: data.into(),
    };
    let derived = deriver
        .apply(&l1_batch, &mut |n| (n == origin.number).then_some(origin))
        .unwrap();
    assert_eq!(derived.unwrap(), 1);
    let block = verifier.storage.read().unwrap().block(1).unwrap().unwrap();
    assert_eq!(block.block.transactions.len(), 1);
    assert_eq!(
        block.block.transactions[0].tx.tx_hash(),
        queue[0].tx.tx.tx_hash()
    );
    assert_eq!(verifier.balance(user.address), amount);
    // The cheat's block is not the chain: its state root differs from the derived one.
    assert_ne!(block.header().state_root, header.state_root);
}

#[test]
fn a_block_re_executes_from_its_witness_alone_and_fails_closed_without_any_part() {
    use tandem_execution::{
        stateless::{OutputPreimage, decode_inputs, encode_inputs, execute_stateless},
        witness::{ExecutionWitness, execution_witness, inputs_of},
    };
    let mut b = Bridge::new();
    let mut rng = StdRng::seed_from_u64(11);
    let users: Vec<dev::DevAccount> = (0..3).map(fresh).collect();
    // Deposits (one with a reverting call), transfers, withdrawals: blocks that touch storage,
    // system contracts and fresh accounts.
    let mut txs = Vec::new();
    for (from, user) in users.iter().enumerate() {
        let amount = U256::from(10u64).pow(U256::from(18));
        txs.push(b.l1_tx(
            from,
            PORTAL,
            amount,
            deposit_call(user.address, amount, 100_000, Vec::new()),
        ));
    }
    txs.push(b.l1_tx(
        3,
        PORTAL,
        U256::from(5),
        deposit_call(system::L1_FEE_VAULT, U256::from(5), 50_000, vec![1]),
    ));
    b.mine_l1(txs, 1);
    b.mine_l2(Vec::new());
    for _ in 0..3 {
        let mut txs = Vec::new();
        for user in &users {
            let nonce = b.l2.nonce(user.address);
            let tx = if rng.random_bool(0.5) {
                let call = IL2ToL1MessagePasser::initiateWithdrawalCall {
                    to: user.address,
                    gasLimit: 100_000,
                    data: Bytes::new(),
                };
                l2_call(
                    user,
                    nonce,
                    L2_TO_L1_MESSAGE_PASSER,
                    U256::from(1_000),
                    call.abi_encode(),
                )
            } else {
                l2_call(
                    user,
                    nonce,
                    fresh(rng.random_range(100..200)).address,
                    U256::from(7),
                    Vec::new(),
                )
            };
            txs.push(tx);
        }
        assert!(b.mine_l2(txs).skipped.is_empty());
    }
    let head = b.l2.head().number;
    let reader = b.l2.storage.read().unwrap();
    let preimage = |number: u64| {
        let o = output_at(&reader, number).unwrap().unwrap();
        OutputPreimage {
            state_root: o.state_root,
            message_passer_root: o.message_passer_storage_root,
            block_hash: o.block_hash,
        }
    };
    let rerun = |number: u64, witness: &ExecutionWitness| {
        let block = reader.block(number).unwrap().unwrap();
        let parent = reader.header(number - 1).unwrap().unwrap();
        let inputs = inputs_of(&block, &parent).unwrap();
        // Through EXECUTE's own encoding, as L1 receives it.
        let inputs = decode_inputs(&encode_inputs(&inputs)).unwrap();
        let witness =
            alloy_rlp::decode_exact::<ExecutionWitness>(alloy_rlp::encode(witness)).unwrap();
        execute_stateless(&b.l2.config, &preimage(number - 1), &inputs, &witness)
            .map(|done| done.output.root())
    };
    for number in 1..=head {
        let witness = execution_witness(&reader, &b.l2.config, number).unwrap();
        assert!(!witness.state.is_empty());
        // Everything the block reads and writes is in its witness: the node's output root.
        assert_eq!(
            rerun(number, &witness).unwrap(),
            preimage(number).root(),
            "block {number}"
        );
        // Without any one node, the re-execution fails; it never yields a root silently.
        for skip in 0..witness.state.len() {
            let mut partial = witness.clone();
            partial.state.remove(skip);
            assert!(
                rerun(number, &partial).is_err(),
                "block {number} without node {skip}"
            );
        }
        // Nor without the code it runs, nor without the parent's header.
        if !witness.codes.is_empty() {
            let mut partial = witness.clone();
            partial.codes.clear();
            assert!(
                rerun(number, &partial).is_err(),
                "block {number} without code"
            );
        }
        let mut partial = witness.clone();
        partial.headers.clear();
        assert!(
            rerun(number, &partial).is_err(),
            "block {number} without its parent"
        );
        // A node altered in one bit does not count (it no longer hashes to its place).
        let mut tampered = witness.clone();
        let last = tampered.state.len() - 1;
        let mut bytes = tampered.state[last].to_vec();
        let at = bytes.len() / 2;
        bytes[at] ^= 1;
        tampered.state[last] = bytes.into();
        assert!(
            rerun(number, &tampered).is_err(),
            "block {number} with a tampered node"
        );
    }
}
