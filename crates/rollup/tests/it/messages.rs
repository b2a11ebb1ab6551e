//! Cross-layer messages and the standard token bridge inside one process, on the harness of
//! `bridge.rs`: the messengers and bridges are the EVM code genesis places (contracts/src), run by
//! the real executor on both layers, with deposits through the Portal's queue and messages to L1
//! proven against final outputs.
use crate::bridge::{Bridge, WINDOW, fresh};
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_sol_types::{SolCall, SolEvent, SolValue, sol};
use tandem_execution::{BlockAttributes, Executor, system::IL2ToL1MessagePasser};
use tandem_primitives::{
    Receipt, StoredTx,
    abi::{ICrossDomainMessenger, IL1CrossDomainMessenger, IStandardBridge},
    dev::{self, DevAccount},
    protocol::Withdrawal,
    system::{self, L1_MESSENGER, L1_STANDARD_BRIDGE, L2_MESSENGER, L2_STANDARD_BRIDGE},
};
use tandem_state::LatestState;

sol! {
    contract MessageReceiver {
        constructor(address messenger_, address trusted_);
        function set(uint256 value_, uint256 work) external payable;
        function fail() external pure;
        function value() external view returns (uint256);
        function calls() external view returns (uint256);
        function received() external view returns (uint256);
    }
    contract MessageSender {
        function send(address messenger, address target, bytes message, uint32 minGasLimit) external payable;
    }
    contract TestToken {
        constructor(string name_, string symbol_, uint8 decimals_, uint256 feePerMille_);
        function mint(address to, uint256 amount) external;
        function approve(address spender, uint256 amount) external returns (bool);
        function transfer(address to, uint256 amount) external returns (bool);
        function balanceOf(address owner) external view returns (uint256);
        function totalSupply() external view returns (uint256);
        function name() external view returns (string);
        function symbol() external view returns (string);
        function decimals() external view returns (uint8);
    }
}

/// The creation code of a test contract (contracts/test), as contracts/build.mjs built it.
fn creation(name: &str) -> Vec<u8> {
    let built: serde_json::Value =
        serde_json::from_str(include_str!("../../../../contracts/build/test.json")).unwrap();
    alloy_primitives::hex::decode(built[name]["bytecode"].as_str().unwrap()).unwrap()
}

fn eth(milli: u64) -> U256 {
    U256::from(milli) * U256::from(10u64).pow(U256::from(15))
}

/// Which layer a call or contract is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layer {
    L1,
    L2,
}

impl Layer {
    fn other(self) -> Self {
        match self {
            Layer::L1 => Layer::L2,
            Layer::L2 => Layer::L1,
        }
    }
}

/// What a test sees of the bridge: the harness, and the messages in flight to L1.
struct Messages {
    b: Bridge,
    /// Withdrawals from L2 not relayed on L1 yet.
    to_l1: Vec<Withdrawal>,
}

impl Messages {
    fn new() -> Self {
        Self {
            b: Bridge::new(),
            to_l1: Vec::new(),
        }
    }

    fn l2_tx(
        &self,
        from: &DevAccount,
        to: TxKind,
        value: U256,
        input: Vec<u8>,
        gas: u64,
    ) -> StoredTx {
        crate::bridge::l2_tx(from, self.b.l2.nonce(from.address), to, value, input, gas)
    }

    /// Mines one L1 block of one transaction from dev account `from`; its receipt.
    fn l1(&mut self, from: usize, to: Address, value: U256, input: Vec<u8>) -> Receipt {
        let tx = self
            .b
            .l1_tx_to(from, TxKind::Call(to), value, input, 8_000_000);
        self.b.mine_l1(vec![tx], 1).remove(0)
    }

    /// Mines one L2 block of `txs` (and the queue's due entries first); every receipt, and the
    /// withdrawals it initiated join `to_l1`.
    fn l2(&mut self, txs: Vec<StoredTx>) -> Vec<Receipt> {
        let block = self.b.mine_l2(txs);
        assert!(block.skipped.is_empty(), "{:?}", block.skipped);
        for log in block
            .executed
            .receipts
            .iter()
            .flat_map(|r| r.logs().to_vec())
        {
            if log.address == system::L2_TO_L1_MESSAGE_PASSER
                && let Ok(e) = IL2ToL1MessagePasser::MessagePassed::decode_log_data(&log.data)
            {
                self.to_l1.push(Withdrawal::from_event(&e));
            }
        }
        block.executed.receipts
    }

    /// Deploys `code` from dev account `from` on `layer`; its address.
    fn deploy(&mut self, layer: Layer, from: usize, code: Vec<u8>) -> Address {
        let account = &dev::accounts()[from];
        match layer {
            Layer::L1 => {
                let address = account.address.create(self.b.l1.nonce(account.address));
                let tx = self
                    .b
                    .l1_tx_to(from, TxKind::Create, U256::ZERO, code, 8_000_000);
                assert!(self.b.mine_l1(vec![tx], 1)[0].status(), "deploy on L1");
                address
            }
            Layer::L2 => {
                let address = account.address.create(self.b.l2.nonce(account.address));
                let tx = self.l2_tx(account, TxKind::Create, U256::ZERO, code, 8_000_000);
                assert!(self.l2(vec![tx])[0].status(), "deploy on L2");
                address
            }
        }
    }

    /// Deploys a MessageReceiver on `layer` (dev account 0) that takes calls from `messenger`
    /// relaying messages from `trusted`.
    fn receiver(&mut self, layer: Layer, messenger: Address, trusted: Address) -> Address {
        let mut code = creation("MessageReceiver");
        code.extend((messenger, trusted).abi_encode_params());
        self.deploy(layer, 0, code)
    }

    /// Deploys a TestToken on `layer` (dev account 0).
    fn token(&mut self, layer: Layer, name: &str, symbol: &str, decimals: u8, fee: u64) -> Address {
        let mut code = creation("TestToken");
        code.extend(alloy_sol_types::SolConstructor::abi_encode(
            &TestToken::constructorCall {
                name_: name.to_string(),
                symbol_: symbol.to_string(),
                decimals_: decimals,
                feePerMille_: U256::from(fee),
            },
        ));
        self.deploy(layer, 0, code)
    }

    /// Mints `amount` of test token `token` on L1 to dev account `owner`, who lets the L1 bridge
    /// take all of it.
    fn mint_for_l1_bridge(&mut self, token: Address, owner: usize, amount: U256) {
        let to = dev::accounts()[owner].address;
        for call in [
            TestToken::mintCall { to, amount }.abi_encode(),
            TestToken::approveCall {
                spender: L1_STANDARD_BRIDGE,
                amount: U256::MAX,
            }
            .abi_encode(),
        ] {
            assert!(self.l1(owner, token, U256::ZERO, call).status());
        }
    }

    /// What the standard bridge on `layer` holds locked of `token`.
    fn locked(&self, layer: Layer, token: Address) -> U256 {
        let bridge = match layer {
            Layer::L1 => L1_STANDARD_BRIDGE,
            Layer::L2 => L2_STANDARD_BRIDGE,
        };
        self.view(layer, bridge, IStandardBridge::lockedCall { token })
    }

    /// A view call on `layer`'s newest state.
    fn view<C: SolCall>(&self, layer: Layer, to: Address, call: C) -> C::Return {
        let chain = match layer {
            Layer::L1 => &self.b.l1,
            Layer::L2 => &self.b.l2,
        };
        let reader = chain.storage.read().unwrap();
        let parent = chain.head();
        let attrs = BlockAttributes {
            timestamp: parent.timestamp + 1,
            beneficiary: Address::ZERO,
            prev_randao: B256::ZERO,
        };
        let caller = &dev::accounts()[9];
        let tx = caller.sign(TxEip1559 {
            chain_id: chain.config.chain_id,
            nonce: chain.nonce(caller.address),
            gas_limit: 1_000_000,
            max_fee_per_gas: 200_000_000_000,
            to: TxKind::Call(to),
            input: call.abi_encode().into(),
            ..Default::default()
        });
        let outcome = Executor::new(
            &reader,
            LatestState(&reader),
            &chain.config,
            &parent,
            &attrs,
        )
        .execute(tx, caller.address)
        .unwrap();
        assert!(outcome.result.is_success(), "{:?}", outcome.result);
        C::abi_decode_returns(outcome.result.output().unwrap()).unwrap()
    }

    /// Proposes outputs over every L2 block so far, lets the window pass, and relays every message
    /// in flight to L1 through the L1 messenger (anything else through the Portal), from dev
    /// account `relayer`; each one's receipt.
    fn relay_to_l1(&mut self, relayer: usize) -> Vec<Receipt> {
        self.final_proofs()
            .iter()
            .map(|proof| {
                let (to, calldata) = proof.call();
                self.l1(relayer, to, U256::ZERO, calldata.to_vec())
            })
            .collect()
    }

    /// Proposes outputs over every L2 block so far and lets the window pass; the proofs of every
    /// withdrawal in flight against the newest output, which takes them off `to_l1`.
    fn final_proofs(&mut self) -> Vec<tandem_rollup::withdrawals::WithdrawalProof> {
        // Outputs cover whole intervals: empty L2 blocks until the last message is covered.
        while !self
            .b
            .l2
            .head()
            .number
            .is_multiple_of(crate::bridge::INTERVAL)
        {
            self.l2(Vec::new());
        }
        self.b.propose();
        self.b.mine_l1(Vec::new(), WINDOW + 1);
        let index = self.b.output_count() - 1;
        let last = self.b.proposed_to;
        std::mem::take(&mut self.to_l1)
            .iter()
            .map(|w| self.b.proof(w, index, last))
            .collect()
    }
}

/// The `relayMessage` call of a sent message carrying `value`, and its hash.
fn relay_call(e: &ICrossDomainMessenger::SentMessage, value: U256) -> (B256, Vec<u8>) {
    let call = ICrossDomainMessenger::relayMessageCall {
        nonce: e.messageNonce,
        sender: e.sender,
        target: e.target,
        value,
        minGasLimit: e.gasLimit,
        message: e.message.clone(),
    }
    .abi_encode();
    (keccak256(&call), call)
}

fn events<E: SolEvent>(receipts: &[Receipt], address: Address) -> Vec<E> {
    receipts
        .iter()
        .flat_map(|r| r.logs().to_vec())
        .filter(|log| log.address == address)
        .filter_map(|log| E::decode_log_data(&log.data).ok())
        .collect()
}

fn set(value: u64, work: u64) -> Bytes {
    MessageReceiver::setCall {
        value_: U256::from(value),
        work: U256::from(work),
    }
    .abi_encode()
    .into()
}

fn send(messenger: Address, target: Address, message: Bytes, min_gas: u32) -> Vec<u8> {
    MessageSender::sendCall {
        messenger,
        target,
        message,
        minGasLimit: min_gas,
    }
    .abi_encode()
}

#[test]
fn messages_call_contracts_both_ways_and_a_failed_one_is_relayed_again_once() {
    let mut m = Messages::new();
    let l1_sender = m.deploy(Layer::L1, 0, creation("MessageSender"));
    let l2_sender = m.deploy(Layer::L2, 0, creation("MessageSender"));
    let l2_receiver = m.receiver(Layer::L2, L2_MESSENGER, l1_sender);
    let l1_receiver = m.receiver(Layer::L1, L1_MESSENGER, l2_sender);

    // L1 to L2, with ETH: relayed by its deposit, as from the L1 contract that sent it.
    let r = m.l1(
        1,
        l1_sender,
        eth(500),
        send(L1_MESSENGER, l2_receiver, set(42, 0), 100_000),
    );
    assert!(r.status());
    let receipts = m.l2(Vec::new());
    assert!(receipts.iter().all(|r| r.status()));
    assert_eq!(
        events::<ICrossDomainMessenger::RelayedMessage>(&receipts, L2_MESSENGER).len(),
        1
    );
    let value = |m: &Messages, layer, at| m.view(layer, at, MessageReceiver::valueCall {});
    assert_eq!(value(&m, Layer::L2, l2_receiver), U256::from(42));
    assert_eq!(
        m.view(Layer::L2, l2_receiver, MessageReceiver::receivedCall {}),
        eth(500)
    );
    assert_eq!(m.b.l2.balance(L2_MESSENGER), U256::ZERO);

    // A sender the receiver does not trust: the call fails, the message is recorded as failed.
    let r = m.l1(
        2,
        L1_MESSENGER,
        U256::ZERO,
        ICrossDomainMessenger::sendMessageCall {
            target: l2_receiver,
            message: set(13, 0),
            minGasLimit: 100_000,
        }
        .abi_encode(),
    );
    assert!(r.status());
    let receipts = m.l2(Vec::new());
    assert_eq!(
        events::<ICrossDomainMessenger::FailedRelayedMessage>(&receipts, L2_MESSENGER).len(),
        1
    );
    assert_eq!(value(&m, Layer::L2, l2_receiver), U256::from(42));

    // Too little gas for its work: failed, with its ETH kept by the messenger.
    let r = m.l1(
        1,
        l1_sender,
        eth(30),
        send(L1_MESSENGER, l2_receiver, set(7, 100), 50_000),
    );
    let sent = events::<ICrossDomainMessenger::SentMessage>(std::slice::from_ref(&r), L1_MESSENGER);
    assert_eq!(sent.len(), 1);
    let (hash, replay) = relay_call(&sent[0], eth(30));
    let receipts = m.l2(Vec::new());
    let failed = events::<ICrossDomainMessenger::FailedRelayedMessage>(&receipts, L2_MESSENGER);
    assert_eq!(
        failed.iter().map(|e| e.msgHash).collect::<Vec<_>>(),
        vec![hash]
    );
    assert_eq!(value(&m, Layer::L2, l2_receiver), U256::from(42));
    assert_eq!(m.b.l2.balance(L2_MESSENGER), eth(30));
    // Relayed again by anyone with enough gas: it succeeds, once.
    let relayer = &dev::accounts()[5];
    let tx = m.l2_tx(
        relayer,
        TxKind::Call(L2_MESSENGER),
        U256::ZERO,
        replay.clone(),
        5_000_000,
    );
    let receipts = m.l2(vec![tx]);
    assert!(receipts[0].status());
    assert_eq!(
        events::<ICrossDomainMessenger::RelayedMessage>(&receipts, L2_MESSENGER).len(),
        1
    );
    assert_eq!(value(&m, Layer::L2, l2_receiver), U256::from(7));
    assert_eq!(
        m.view(Layer::L2, l2_receiver, MessageReceiver::receivedCall {}),
        eth(530)
    );
    assert_eq!(m.b.l2.balance(L2_MESSENGER), U256::ZERO);
    // A third relay is refused, and changes nothing.
    let calls = m.view(Layer::L2, l2_receiver, MessageReceiver::callsCall {});
    let tx = m.l2_tx(
        relayer,
        TxKind::Call(L2_MESSENGER),
        U256::ZERO,
        replay,
        5_000_000,
    );
    assert!(!m.l2(vec![tx])[0].status());
    assert_eq!(
        m.view(Layer::L2, l2_receiver, MessageReceiver::callsCall {}),
        calls
    );
    // A message the other layer would refuse on every relay is refused when sent: its
    // messengers and system contracts.
    for target in [
        L1_MESSENGER,
        L2_MESSENGER,
        system::L2_TO_L1_MESSAGE_PASSER,
        system::L1_BLOCK,
    ] {
        let call = ICrossDomainMessenger::sendMessageCall {
            target,
            message: Bytes::new(),
            minGasLimit: 100_000,
        };
        assert!(
            !m.l1(2, L1_MESSENGER, eth(1), call.abi_encode()).status(),
            "{target}"
        );
    }
    // A message never sent cannot be relayed; nor can anyone but the messenger call the receiver.
    let forged = ICrossDomainMessenger::relayMessageCall {
        nonce: U256::from(1) << 240 | U256::from(77),
        sender: l1_sender,
        target: l2_receiver,
        value: U256::ZERO,
        minGasLimit: U256::from(100_000),
        message: set(666, 0),
    }
    .abi_encode();
    let tx = m.l2_tx(
        relayer,
        TxKind::Call(L2_MESSENGER),
        U256::ZERO,
        forged,
        1_000_000,
    );
    let direct = m.l2_tx(
        &dev::accounts()[6],
        TxKind::Call(l2_receiver),
        U256::ZERO,
        set(666, 0).to_vec(),
        1_000_000,
    );
    let receipts = m.l2(vec![tx, direct]);
    assert!(!receipts[0].status() && !receipts[1].status());
    assert_eq!(value(&m, Layer::L2, l2_receiver), U256::from(7));

    // L2 to L1, with ETH: a withdrawal from the L2 messenger, relayed on L1 once its output is final.
    let user = &dev::accounts()[3];
    let tx = m.l2_tx(
        user,
        TxKind::Call(l2_sender),
        eth(100),
        send(L2_MESSENGER, l1_receiver, set(99, 0), 100_000),
        1_000_000,
    );
    assert!(m.l2(vec![tx])[0].status());
    assert_eq!(m.to_l1.len(), 1);
    let message = m.to_l1[0].clone();
    assert_eq!(
        (message.sender, message.target, message.value),
        (L2_MESSENGER, L1_MESSENGER, eth(100))
    );
    // Nobody but the L1 messenger can take it from the Portal, even with a valid proof.
    let receipts = m.relay_to_l1(4);
    assert!(receipts[0].status(), "relayed on L1");
    assert_eq!(value(&m, Layer::L1, l1_receiver), U256::from(99));
    assert_eq!(
        m.view(Layer::L1, l1_receiver, MessageReceiver::receivedCall {}),
        eth(100)
    );
    assert_eq!(m.b.l1.balance(L1_MESSENGER), U256::ZERO);
    let index = m.b.output_count() - 1;
    let proof = m.b.proof(&message, index, m.b.proposed_to);
    // Twice: refused (the Portal paid it once).
    let (to, calldata) = proof.call();
    assert!(!m.l1(4, to, U256::ZERO, calldata.to_vec()).status());
    // Another message: taken straight to the Portal with a valid proof, it is refused (only the
    // target's own call takes a withdrawal with data), and the messenger still relays it.
    let tx = m.l2_tx(
        user,
        TxKind::Call(l2_sender),
        U256::ZERO,
        send(L2_MESSENGER, l1_receiver, set(100, 0), 100_000),
        1_000_000,
    );
    assert!(m.l2(vec![tx])[0].status());
    let proofs = m.final_proofs();
    assert!(
        !m.l1(4, system::PORTAL, U256::ZERO, proofs[0].calldata().to_vec())
            .status()
    );
    assert_eq!(value(&m, Layer::L1, l1_receiver), U256::from(99));
    let (to, calldata) = proofs[0].call();
    assert!(m.l1(4, to, U256::ZERO, calldata.to_vec()).status());
    assert_eq!(value(&m, Layer::L1, l1_receiver), U256::from(100));
    assert_eq!(
        m.view(Layer::L1, l1_receiver, MessageReceiver::callsCall {}),
        U256::from(2)
    );
    // A withdrawal to the L1 messenger from anyone but the L2 messenger forges nothing.
    let forged = IL2ToL1MessagePasser::initiateWithdrawalCall {
        to: L1_MESSENGER,
        gasLimit: 100_000,
        data: ICrossDomainMessenger::relayMessageCall {
            nonce: U256::from(1) << 240 | U256::from(5),
            sender: l2_sender,
            target: l1_receiver,
            value: U256::ZERO,
            minGasLimit: U256::from(100_000),
            message: set(666, 0),
        }
        .abi_encode()
        .into(),
    }
    .abi_encode();
    let tx = m.l2_tx(
        user,
        TxKind::Call(system::L2_TO_L1_MESSAGE_PASSER),
        U256::ZERO,
        forged,
        1_000_000,
    );
    assert!(m.l2(vec![tx])[0].status());
    let proofs = m.final_proofs();
    let (to, calldata) = proofs[0].call();
    assert_eq!(
        to,
        system::PORTAL,
        "not a message: the Portal's, which only the target may take"
    );
    assert!(!m.l1(4, to, U256::ZERO, calldata.to_vec()).status());
    let mut relay = IL1CrossDomainMessenger::relayMessageWithProofCall::SELECTOR.to_vec();
    relay.extend_from_slice(&calldata[4..]);
    assert!(!m.l1(4, L1_MESSENGER, U256::ZERO, relay).status());
    assert_eq!(value(&m, Layer::L1, l1_receiver), U256::from(100));
}

#[test]
fn a_token_crosses_both_ways_with_exact_balances_and_its_metadata() {
    let mut m = Messages::new();
    let l1_token = m.token(Layer::L1, "Tandem Test", "TT", 6, 0);
    let owner = dev::accounts()[0].address;
    let holder = fresh(1);
    let friend = fresh(2);
    let balance = |m: &Messages, layer, token, who| {
        m.view(layer, token, TestToken::balanceOfCall { owner: who })
    };
    m.mint_for_l1_bridge(l1_token, 0, U256::from(1_000_000));
    // ETH for the L2 holders' gas.
    m.b.fund(&[holder.address, friend.address], eth(100));

    // Deposit: locked on L1, minted on L2 as the bridge's representation, metadata copied.
    let r = m.l1(
        0,
        L1_STANDARD_BRIDGE,
        U256::ZERO,
        IStandardBridge::bridgeERC20ToCall {
            localToken: l1_token,
            to: holder.address,
            amount: U256::from(600_000),
            minGasLimit: 1_500_000,
        }
        .abi_encode(),
    );
    assert!(r.status());
    let initiated = events::<IStandardBridge::ERC20BridgeInitiated>(
        std::slice::from_ref(&r),
        L1_STANDARD_BRIDGE,
    );
    let l2_token = m.view(
        Layer::L2,
        L2_STANDARD_BRIDGE,
        IStandardBridge::representationOfCall {
            nativeToken: l1_token,
        },
    );
    assert_eq!(initiated[0].remoteToken, l2_token);
    let receipts = m.l2(Vec::new());
    assert!(receipts.iter().all(|r| r.status()));
    assert_eq!(
        events::<IStandardBridge::RepresentationCreated>(&receipts, L2_STANDARD_BRIDGE).len(),
        1
    );
    assert_eq!(balance(&m, Layer::L1, l1_token, owner), U256::from(400_000));
    assert_eq!(m.locked(Layer::L1, l1_token), U256::from(600_000));
    assert_eq!(
        balance(&m, Layer::L1, l1_token, L1_STANDARD_BRIDGE),
        U256::from(600_000)
    );
    assert_eq!(
        balance(&m, Layer::L2, l2_token, holder.address),
        U256::from(600_000)
    );
    assert_eq!(
        m.view(Layer::L2, l2_token, TestToken::nameCall {}),
        "Tandem Test"
    );
    assert_eq!(m.view(Layer::L2, l2_token, TestToken::symbolCall {}), "TT");
    assert_eq!(m.view(Layer::L2, l2_token, TestToken::decimalsCall {}), 6);
    assert_eq!(
        m.view(
            Layer::L2,
            L2_STANDARD_BRIDGE,
            IStandardBridge::nativeOfCall { token: l2_token }
        ),
        l1_token
    );

    // Transferred on L2, then withdrawn by the friend to the owner on L1: burnt, then released.
    let tx = m.l2_tx(
        &holder,
        TxKind::Call(l2_token),
        U256::ZERO,
        TestToken::transferCall {
            to: friend.address,
            amount: U256::from(250_000),
        }
        .abi_encode(),
        200_000,
    );
    assert!(m.l2(vec![tx])[0].status());
    let tx = m.l2_tx(
        &friend,
        TxKind::Call(L2_STANDARD_BRIDGE),
        U256::ZERO,
        IStandardBridge::bridgeERC20ToCall {
            localToken: l2_token,
            to: owner,
            amount: U256::from(100_000),
            minGasLimit: 200_000,
        }
        .abi_encode(),
        1_000_000,
    );
    assert!(m.l2(vec![tx])[0].status());
    assert_eq!(
        balance(&m, Layer::L2, l2_token, friend.address),
        U256::from(150_000)
    );
    assert_eq!(
        m.view(Layer::L2, l2_token, TestToken::totalSupplyCall {}),
        U256::from(500_000)
    );
    // Before the window passes nothing is released; after it, exactly the amount.
    assert_eq!(balance(&m, Layer::L1, l1_token, owner), U256::from(400_000));
    let receipts = m.relay_to_l1(4);
    assert!(receipts.iter().all(|r| r.status()));
    assert_eq!(
        events::<ICrossDomainMessenger::RelayedMessage>(&receipts, L1_MESSENGER).len(),
        1
    );
    assert_eq!(balance(&m, Layer::L1, l1_token, owner), U256::from(500_000));
    assert_eq!(m.locked(Layer::L1, l1_token), U256::from(500_000));

    // A fee-on-transfer token is refused, and nothing moves.
    let fee_token = m.token(Layer::L1, "Fee", "FEE", 18, 10);
    m.mint_for_l1_bridge(fee_token, 0, U256::from(1_000));
    let r = m.l1(
        0,
        L1_STANDARD_BRIDGE,
        U256::ZERO,
        IStandardBridge::bridgeERC20Call {
            localToken: fee_token,
            amount: U256::from(1_000),
            minGasLimit: 1_500_000,
        }
        .abi_encode(),
    );
    assert!(!r.status());
    assert_eq!(balance(&m, Layer::L1, fee_token, owner), U256::from(1_000));

    // A token native to L2 goes to L1 the same way, and comes back.
    let l2_native = m.token(Layer::L2, "Made on L2", "L2T", 18, 0);
    let l2_owner = &dev::accounts()[0];
    for (to, call) in [
        (
            l2_native,
            TestToken::mintCall {
                to: l2_owner.address,
                amount: U256::from(9_000),
            }
            .abi_encode(),
        ),
        (
            l2_native,
            TestToken::approveCall {
                spender: L2_STANDARD_BRIDGE,
                amount: U256::MAX,
            }
            .abi_encode(),
        ),
        (
            L2_STANDARD_BRIDGE,
            IStandardBridge::bridgeERC20ToCall {
                localToken: l2_native,
                to: owner,
                amount: U256::from(4_000),
                minGasLimit: 1_500_000,
            }
            .abi_encode(),
        ),
    ] {
        let tx = m.l2_tx(l2_owner, TxKind::Call(to), U256::ZERO, call, 2_000_000);
        assert!(m.l2(vec![tx])[0].status());
    }
    let receipts = m.relay_to_l1(4);
    assert!(receipts.iter().all(|r| r.status()));
    let l1_representation = m.view(
        Layer::L1,
        L1_STANDARD_BRIDGE,
        IStandardBridge::representationOfCall {
            nativeToken: l2_native,
        },
    );
    assert_eq!(
        balance(&m, Layer::L1, l1_representation, owner),
        U256::from(4_000)
    );
    assert_eq!(
        m.view(Layer::L1, l1_representation, TestToken::symbolCall {}),
        "L2T"
    );
    assert_eq!(m.locked(Layer::L2, l2_native), U256::from(4_000));
    let r = m.l1(
        0,
        L1_STANDARD_BRIDGE,
        U256::ZERO,
        IStandardBridge::bridgeERC20ToCall {
            localToken: l1_representation,
            to: friend.address,
            amount: U256::from(1_500),
            minGasLimit: 200_000,
        }
        .abi_encode(),
    );
    assert!(r.status());
    assert!(m.l2(Vec::new()).iter().all(|r| r.status()));
    assert_eq!(
        balance(&m, Layer::L2, l2_native, friend.address),
        U256::from(1_500)
    );
    assert_eq!(
        balance(&m, Layer::L1, l1_representation, owner),
        U256::from(2_500)
    );
    assert_eq!(m.locked(Layer::L2, l2_native), U256::from(2_500));
}

/// A message sent and what became of it on the other layer.
#[derive(Debug, Clone)]
struct Sent {
    /// Where it is relayed.
    to: Layer,
    /// Its `relayMessage` call (hash and calldata).
    hash: B256,
    relay: Vec<u8>,
    value: U256,
    /// A token move it carries: (the native token's layer, the native token, amount). A token
    /// and another on the other layer may share an address (the same deployer and nonce).
    token: Option<(Layer, Address, U256)>,
    /// Relayed successfully.
    done: bool,
    /// Failed at least once.
    failed: bool,
}

/// Every message a receipt's `SentMessage` events announce (with their `SentMessageExtension1`
/// values), and the token moves the bridge's events say they carry.
fn sent_in(receipts: &[Receipt], from: Layer) -> Vec<Sent> {
    let (messenger, bridge) = match from {
        Layer::L1 => (L1_MESSENGER, L1_STANDARD_BRIDGE),
        Layer::L2 => (L2_MESSENGER, L2_STANDARD_BRIDGE),
    };
    let mut sent = Vec::new();
    for receipt in receipts {
        let logs = receipt.logs();
        for (i, log) in logs.iter().enumerate() {
            if log.address != messenger {
                continue;
            }
            let Ok(e) = ICrossDomainMessenger::SentMessage::decode_log_data(&log.data) else {
                continue;
            };
            let value =
                ICrossDomainMessenger::SentMessageExtension1::decode_log_data(&logs[i + 1].data)
                    .unwrap()
                    .value;
            let (hash, relay) = relay_call(&e, value);
            let token = logs[i + 1..]
                .iter()
                .filter(|l| l.address == bridge)
                .find_map(|l| IStandardBridge::ERC20BridgeInitiated::decode_log_data(&l.data).ok())
                .filter(|_| e.sender == bridge)
                .map(|t| (t, e.message.clone()));
            let token = token.map(|(t, message)| {
                // The native token: the one locked here (a finalizeMint), or the one a burn
                // releases there.
                match IStandardBridge::finalizeMintCall::abi_decode(&message) {
                    Ok(mint) => (from, mint.nativeToken, t.amount),
                    Err(_) => {
                        let release =
                            IStandardBridge::finalizeReleaseCall::abi_decode(&message).unwrap();
                        (from.other(), release.nativeToken, t.amount)
                    }
                }
            });
            let to = from.other();
            sent.push(Sent {
                to,
                hash,
                relay,
                value,
                token,
                done: false,
                failed: false,
            });
        }
    }
    sent
}

/// Many messages and token moves in both directions, some short of gas or relayed short of gas,
/// replayed at random; after every round: each token locked on its native layer equals its
/// representation's supply on the other plus what is in flight, ETH is conserved through the
/// Portal and the messengers, and every message succeeded once (as the messengers record it) or
/// is still pending or failed.
#[test]
fn random_messages_and_token_moves_conserve_and_relay_each_message_once() {
    let mut failed_first = 0;
    for seed in 1..=3u64 {
        failed_first += random_bridge_run(seed);
    }
    assert!(
        failed_first >= 6,
        "{failed_first} messages failed before they succeeded or stayed failed"
    );
}

/// One seeded run; how many messages failed at least once.
fn random_bridge_run(seed: u64) -> usize {
    use rand::{Rng, SeedableRng, rngs::StdRng};
    let mut rng = StdRng::seed_from_u64(seed);
    let mut m = Messages::new();
    let users = [0usize, 1, 2, 3];
    let l1_sender = m.deploy(Layer::L1, 0, creation("MessageSender"));
    let l2_sender = m.deploy(Layer::L2, 0, creation("MessageSender"));
    let l2_receiver = m.receiver(Layer::L2, L2_MESSENGER, l1_sender);
    let l1_receiver = m.receiver(Layer::L1, L1_MESSENGER, l2_sender);
    let l1_native = m.token(Layer::L1, "ONE token", "ONE", 18, 0);
    let l2_native = m.token(Layer::L2, "TWO token", "TWO", 18, 0);
    for &user in &users {
        m.mint_for_l1_bridge(l1_native, user, U256::from(1_000_000));
        let account = &dev::accounts()[user];
        for call in [
            TestToken::mintCall {
                to: account.address,
                amount: U256::from(1_000_000),
            }
            .abi_encode(),
            TestToken::approveCall {
                spender: L2_STANDARD_BRIDGE,
                amount: U256::MAX,
            }
            .abi_encode(),
        ] {
            let tx = m.l2_tx(account, TxKind::Call(l2_native), U256::ZERO, call, 200_000);
            assert!(m.l2(vec![tx])[0].status());
        }
    }
    // Each native token's representation on the other layer.
    let l2_rep = m.view(
        Layer::L2,
        L2_STANDARD_BRIDGE,
        IStandardBridge::representationOfCall {
            nativeToken: l1_native,
        },
    );
    let l1_rep = m.view(
        Layer::L1,
        L1_STANDARD_BRIDGE,
        IStandardBridge::representationOfCall {
            nativeToken: l2_native,
        },
    );
    // A representation exists from its first mint on.
    let deployed = |m: &Messages, layer, token: Address| {
        let chain = match layer {
            Layer::L1 => &m.b.l1,
            Layer::L2 => &m.b.l2,
        };
        let account = chain.storage.read().unwrap().account(token).unwrap();
        account.is_some_and(|a| a.code_hash != alloy_primitives::KECCAK256_EMPTY)
    };
    let balance_of = |m: &Messages, layer, token: Address, who| {
        if !deployed(m, layer, token) {
            return U256::ZERO;
        }
        m.view(layer, token, TestToken::balanceOfCall { owner: who })
    };
    let supply = |m: &Messages, layer, token| {
        if !deployed(m, layer, token) {
            return U256::ZERO;
        }
        m.view(layer, token, TestToken::totalSupplyCall {})
    };

    let mut sent: Vec<Sent> = Vec::new();
    // ETH into and out of the Portal, from its events.
    let (mut deposited, mut paid) = (U256::ZERO, U256::ZERO);
    let mut relayed_seen = std::collections::HashSet::new();
    let mut proofs: Vec<tandem_rollup::withdrawals::WithdrawalProof> = Vec::new();
    for round in 0..10 {
        // L1: token moves and messages.
        for _ in 0..rng.random_range(1..4) {
            let user = users[rng.random_range(0..users.len())];
            let address = dev::accounts()[user].address;
            let min_gas = if rng.random_bool(0.2) {
                30_000
            } else {
                1_500_000
            };
            let (to, value, call) = match rng.random_range(0..3) {
                0 => (
                    L1_STANDARD_BRIDGE,
                    U256::ZERO,
                    IStandardBridge::bridgeERC20ToCall {
                        localToken: l1_native,
                        to: address,
                        amount: U256::from(rng.random_range(1..50_000u64)),
                        minGasLimit: min_gas,
                    }
                    .abi_encode(),
                ),
                1 => {
                    let have = balance_of(&m, Layer::L1, l1_rep, address);
                    if have.is_zero() {
                        continue;
                    }
                    (
                        L1_STANDARD_BRIDGE,
                        U256::ZERO,
                        IStandardBridge::bridgeERC20ToCall {
                            localToken: l1_rep,
                            to: address,
                            amount: have / U256::from(rng.random_range(1..4u64)),
                            minGasLimit: min_gas.min(300_000),
                        }
                        .abi_encode(),
                    )
                }
                _ => {
                    // A message short of gas does work its minimum does not cover.
                    let work = if min_gas < 100_000 {
                        60
                    } else {
                        rng.random_range(0..40)
                    };
                    (
                        l1_sender,
                        eth(rng.random_range(0..50)),
                        send(L1_MESSENGER, l2_receiver, set(round, work), min_gas),
                    )
                }
            };
            let receipt = m.l1(user, to, value, call);
            assert!(receipt.status(), "seed {seed} round {round}: an L1 send");
            deposited += events::<tandem_execution::system::IPortal::TransactionDeposited>(
                std::slice::from_ref(&receipt),
                system::PORTAL,
            )
            .iter()
            .map(|e| e.mint)
            .sum::<U256>();
            sent.extend(sent_in(std::slice::from_ref(&receipt), Layer::L1));
        }
        // L2: the deposits relay, then token moves, messages and replays.
        for _ in 0..2 {
            let mut txs = Vec::new();
            for &user in &users {
                if !rng.random_bool(0.6) {
                    continue;
                }
                let account = &dev::accounts()[user];
                let min_gas = if rng.random_bool(0.2) {
                    30_000
                } else {
                    1_500_000
                };
                let (to, value, call) = match rng.random_range(0..4) {
                    0 => (
                        L2_STANDARD_BRIDGE,
                        U256::ZERO,
                        IStandardBridge::bridgeERC20ToCall {
                            localToken: l2_native,
                            to: account.address,
                            amount: U256::from(rng.random_range(1..50_000u64)),
                            minGasLimit: min_gas,
                        }
                        .abi_encode(),
                    ),
                    1 => {
                        let have = balance_of(&m, Layer::L2, l2_rep, account.address);
                        if have.is_zero() {
                            continue;
                        }
                        (
                            L2_STANDARD_BRIDGE,
                            U256::ZERO,
                            IStandardBridge::bridgeERC20ToCall {
                                localToken: l2_rep,
                                to: account.address,
                                amount: have / U256::from(rng.random_range(1..4u64)),
                                minGasLimit: min_gas.min(300_000),
                            }
                            .abi_encode(),
                        )
                    }
                    2 => {
                        let work = if min_gas < 100_000 {
                            60
                        } else {
                            rng.random_range(0..40)
                        };
                        (
                            l2_sender,
                            eth(rng.random_range(0..5)),
                            send(L2_MESSENGER, l1_receiver, set(round, work), min_gas),
                        )
                    }
                    _ => {
                        // Replay a message to L2 (failed, done, or not delivered yet).
                        let to_l2: Vec<&Sent> = sent.iter().filter(|s| s.to == Layer::L2).collect();
                        if to_l2.is_empty() {
                            continue;
                        }
                        let s = to_l2[rng.random_range(0..to_l2.len())];
                        (L2_MESSENGER, U256::ZERO, s.relay.clone())
                    }
                };
                txs.push(m.l2_tx(account, TxKind::Call(to), value, call, 5_000_000));
            }
            let receipts = m.l2(txs);
            sent.extend(sent_in(&receipts, Layer::L2));
            observe(&mut sent, &mut relayed_seen, &receipts, L2_MESSENGER, seed);
        }
        // Every other round: outputs, the window, and relays on L1, some short of gas.
        if round % 2 == 1 {
            proofs.extend(m.final_proofs());
            let mut left = Vec::new();
            for proof in std::mem::take(&mut proofs) {
                let (to, calldata) = proof.call();
                // Some relays bring about what the message asks and no more: its call may run out
                // (a failure recorded), or the relay may not pass the messenger's check (reverted,
                // tried again later).
                let gas = if rng.random_bool(0.3) {
                    proof.withdrawal.gas_limit.saturating_to::<u64>()
                        + rng.random_range(60_000..200_000)
                } else {
                    8_000_000
                };
                let relayer = users[rng.random_range(0..users.len())];
                let tx = m.b.l1_tx_to(
                    relayer,
                    TxKind::Call(to),
                    U256::ZERO,
                    calldata.to_vec(),
                    gas,
                );
                let receipt = m.b.mine_l1(vec![tx], 1).remove(0);
                if receipt.status() {
                    paid += proof.withdrawal.value;
                } else {
                    left.push(proof); // out of gas before the Portal's record: try again later
                }
                observe(
                    &mut sent,
                    &mut relayed_seen,
                    std::slice::from_ref(&receipt),
                    L1_MESSENGER,
                    seed,
                );
            }
            proofs = left;
            // Replays on L1 of messages that failed there.
            let failed: Vec<Sent> = sent
                .iter()
                .filter(|s| s.to == Layer::L1 && !s.done)
                .cloned()
                .collect();
            for s in failed.iter().take(2) {
                let delivered = m.view(
                    Layer::L1,
                    L1_MESSENGER,
                    ICrossDomainMessenger::failedMessagesCall { msgHash: s.hash },
                );
                let receipt = m.l1(users[0], L1_MESSENGER, U256::ZERO, s.relay.clone());
                assert_eq!(
                    receipt.status(),
                    delivered,
                    "seed {seed}: only a failed message replays"
                );
                observe(
                    &mut sent,
                    &mut relayed_seen,
                    std::slice::from_ref(&receipt),
                    L1_MESSENGER,
                    seed,
                );
            }
        }

        // Tokens: locked on the native layer = the representation's supply + what is in flight.
        for (native_layer, native, bridge, rep_layer, rep) in [
            (Layer::L1, l1_native, L1_STANDARD_BRIDGE, Layer::L2, l2_rep),
            (Layer::L2, l2_native, L2_STANDARD_BRIDGE, Layer::L1, l1_rep),
        ] {
            let locked = m.view(
                native_layer,
                bridge,
                IStandardBridge::lockedCall { token: native },
            );
            assert_eq!(
                locked,
                balance_of(&m, native_layer, native, bridge),
                "seed {seed} round {round}: the bridge holds what it locked"
            );
            let in_flight: U256 = sent
                .iter()
                .filter(|s| !s.done)
                .filter_map(|s| s.token)
                .filter(|(layer, token, _)| (*layer, *token) == (native_layer, native))
                .map(|(_, _, amount)| amount)
                .sum();
            assert_eq!(
                locked,
                supply(&m, rep_layer, rep) + in_flight,
                "seed {seed} round {round}: {native} locked vs minted"
            );
        }
        // ETH: the Portal holds deposits less payouts; each messenger what its failed messages carry.
        assert_eq!(
            m.b.l1.balance(system::PORTAL),
            deposited - paid,
            "seed {seed} round {round}: Portal"
        );
        for (layer, messenger, chain) in [
            (Layer::L2, L2_MESSENGER, &m.b.l2),
            (Layer::L1, L1_MESSENGER, &m.b.l1),
        ] {
            let held: U256 = sent
                .iter()
                .filter(|s| s.to == layer && !s.done)
                .filter(|s| {
                    m.view(
                        layer,
                        messenger,
                        ICrossDomainMessenger::failedMessagesCall { msgHash: s.hash },
                    )
                })
                .map(|s| s.value)
                .sum();
            assert_eq!(
                chain.balance(messenger),
                held,
                "seed {seed} round {round}: {layer:?} messenger"
            );
        }
        // Every message to L2 was delivered by its deposit in this round's L2 blocks: it succeeded
        // or is recorded as failed, never lost.
        for s in sent.iter().filter(|s| s.to == Layer::L2) {
            let failed = m.view(
                Layer::L2,
                L2_MESSENGER,
                ICrossDomainMessenger::failedMessagesCall { msgHash: s.hash },
            );
            assert!(s.done || failed, "seed {seed} round {round}: lost {s:?}");
        }
        // The messengers agree with what was seen.
        for s in &sent {
            let messenger = if s.to == Layer::L1 {
                L1_MESSENGER
            } else {
                L2_MESSENGER
            };
            let done = m.view(
                s.to,
                messenger,
                ICrossDomainMessenger::successfulMessagesCall { msgHash: s.hash },
            );
            assert_eq!(done, s.done, "seed {seed} round {round}: {s:?}");
        }
    }
    let done = sent.iter().filter(|s| s.done).count();
    assert!(done > 10, "seed {seed}: {done} of {} relayed", sent.len());
    sent.iter().filter(|s| s.failed).count()
}

/// Marks the messages `receipts` relayed or failed on `messenger`; a message relayed successfully
/// twice, or failing after it succeeded, fails the test.
fn observe(
    sent: &mut [Sent],
    seen: &mut std::collections::HashSet<B256>,
    receipts: &[Receipt],
    messenger: Address,
    seed: u64,
) {
    // In log order: a message may fail and be replayed in the same block.
    let logs = receipts.iter().flat_map(|r| r.logs().to_vec());
    for log in logs.filter(|log| log.address == messenger) {
        if let Ok(e) = ICrossDomainMessenger::RelayedMessage::decode_log_data(&log.data) {
            assert!(
                seen.insert(e.msgHash),
                "seed {seed}: {} relayed twice",
                e.msgHash
            );
            let s = sent.iter_mut().find(|s| s.hash == e.msgHash);
            s.expect("a relayed message was sent").done = true;
        } else if let Ok(e) =
            ICrossDomainMessenger::FailedRelayedMessage::decode_log_data(&log.data)
        {
            let s = sent.iter_mut().find(|s| s.hash == e.msgHash);
            let s = s.expect("a failed message was sent");
            assert!(!s.done, "seed {seed}: a relayed message failed after");
            s.failed = true;
        }
    }
}

/// The L2 state transition's one rule for messages: a deposit of a message from the L1 messenger
/// that cannot run at all (here: less gas than EIP-7623's calldata floor, as a message sent
/// before `baseGas` counted the floor would have been; equally a call the witness budget refuses)
/// leaves the message recorded as failed with its ETH in the L2 messenger, so it is relayed again.
#[test]
fn a_message_whose_deposit_cannot_run_is_recorded_failed_and_relayed_again() {
    use tandem_execution::l2::QueuedTx;
    let mut m = Messages::new();
    let sender = Address::repeat_byte(0x5e);
    let receiver = m.receiver(Layer::L2, L2_MESSENGER, sender);
    let relay = ICrossDomainMessenger::relayMessageCall {
        nonce: U256::from(1) << 240 | U256::from(999),
        sender,
        target: receiver,
        value: eth(3),
        minGasLimit: U256::from(100_000),
        message: set(5, 0),
    }
    .abi_encode();
    let hash = keccak256(&relay);
    let from = system::alias(L1_MESSENGER);
    let index = m.b.queue.len() as u64;
    let deposit = tandem_primitives::protocol::deposit_transaction(
        index,
        from,
        L2_MESSENGER,
        eth(3),
        eth(3),
        30_000,
        relay.clone().into(),
    );
    m.b.queue.push(QueuedTx {
        index,
        l1_block: m.b.l1.head().number,
        tx: StoredTx {
            sender: from,
            tx: tandem_primitives::TxEnvelope::Deposit(alloy_primitives::Sealed::new(deposit)),
        },
    });
    let receipts = m.l2(Vec::new());
    assert!(!receipts[0].status(), "the deposit could not run");
    // Its receipt carries the messenger's event, as a failed relay's would.
    let failed_events =
        events::<ICrossDomainMessenger::FailedRelayedMessage>(&receipts, L2_MESSENGER);
    assert_eq!(
        failed_events.iter().map(|e| e.msgHash).collect::<Vec<_>>(),
        vec![hash]
    );
    let failed = |m: &Messages| {
        m.view(
            Layer::L2,
            L2_MESSENGER,
            ICrossDomainMessenger::failedMessagesCall { msgHash: hash },
        )
    };
    assert!(failed(&m), "recorded as failed");
    assert_eq!(
        m.b.l2.balance(L2_MESSENGER),
        eth(3),
        "its ETH with the messenger"
    );
    assert_eq!(m.b.l2.balance(from), U256::ZERO);
    // Relayed again by anyone: delivered once, with its ETH.
    let relayer = &dev::accounts()[5];
    let tx = m.l2_tx(
        relayer,
        TxKind::Call(L2_MESSENGER),
        U256::ZERO,
        relay.clone(),
        2_000_000,
    );
    assert!(m.l2(vec![tx])[0].status());
    assert_eq!(
        m.view(Layer::L2, receiver, MessageReceiver::valueCall {}),
        U256::from(5)
    );
    assert_eq!(
        m.view(Layer::L2, receiver, MessageReceiver::receivedCall {}),
        eth(3)
    );
    assert_eq!(m.b.l2.balance(L2_MESSENGER), U256::ZERO);
    let tx = m.l2_tx(
        relayer,
        TxKind::Call(L2_MESSENGER),
        U256::ZERO,
        relay,
        2_000_000,
    );
    assert!(!m.l2(vec![tx])[0].status(), "once");
}

#[test]
fn base_gas_covers_the_calldata_floor_of_a_large_message() {
    // A 20,000-byte message: its deposit must carry at least EIP-7623's floor, or it cannot run.
    let m = Messages::new();
    let message: Bytes = vec![0xff; 20_000].into();
    let gas = m.view(
        Layer::L1,
        L1_MESSENGER,
        ICrossDomainMessenger::baseGasCall {
            message: message.clone(),
            minGasLimit: 100_000,
        },
    );
    let relay_bytes = ICrossDomainMessenger::relayMessageCall {
        nonce: U256::MAX,
        sender: Address::ZERO,
        target: Address::ZERO,
        value: U256::MAX,
        minGasLimit: U256::MAX,
        message,
    }
    .abi_encode()
    .len() as u64;
    assert!(
        gas >= 21_000 + 40 * relay_bytes,
        "{gas} for {relay_bytes} bytes"
    );
}

/// The fault-proof suite over a block with messages and token moves: a faulty proposer's chain
/// mints a token's representation from a message L1 never sent and withdraws it, so its output
/// holds a token release on L1 that nobody burnt for. Challenged, the output loses and the forged
/// release is never paid; left alone past the window, it would be (what the challenger prevents).
#[test]
fn a_wrong_output_that_forges_a_token_withdrawal_loses_and_the_forgery_is_never_paid() {
    for challenged in [true, false] {
        forged_token_release(challenged);
    }
}

fn forged_token_release(challenged: bool) {
    use crate::dispute::{CHALLENGER, FAULTY, forged_proof, replay, rogue_block};
    use tandem_execution::l2::QueuedTx;
    use tandem_rollup::{
        challenger::{self, Claim, Verdict},
        outputs::output_at,
    };
    let mut m = Messages::new();
    // Honestly: a token deposited from L1 (locked there: what a forged release would take), a
    // message, and a withdrawal of some of it back.
    let token = m.token(Layer::L1, "Locked", "LCK", 18, 0);
    m.mint_for_l1_bridge(token, 0, U256::from(1_000_000));
    let holder = &dev::accounts()[2];
    let deposit = IStandardBridge::bridgeERC20ToCall {
        localToken: token,
        to: holder.address,
        amount: U256::from(1_000_000),
        minGasLimit: 1_500_000,
    };
    assert!(
        m.l1(0, L1_STANDARD_BRIDGE, U256::ZERO, deposit.abi_encode())
            .status()
    );
    assert!(m.l2(Vec::new()).iter().all(|r| r.status()));
    let rep = m.view(
        Layer::L2,
        L2_STANDARD_BRIDGE,
        IStandardBridge::representationOfCall { nativeToken: token },
    );
    let back = IStandardBridge::bridgeERC20ToCall {
        localToken: rep,
        to: holder.address,
        amount: U256::from(1_000),
        minGasLimit: 200_000,
    };
    let tx = m.l2_tx(
        holder,
        TxKind::Call(L2_STANDARD_BRIDGE),
        U256::ZERO,
        back.abi_encode(),
        1_000_000,
    );
    assert!(m.l2(vec![tx])[0].status());
    while !m.b.l2.head().number.is_multiple_of(crate::bridge::INTERVAL) {
        m.l2(Vec::new());
    }
    m.b.propose();
    let honest_outputs = m.b.output_count();

    // The faulty node: the honest chain so far, then a block with a forged message from the L1
    // bridge minting 500,000 to a thief, who sends them home at once.
    let first = m.b.l2.head().number + 1;
    let dir = tempfile::tempdir().unwrap();
    let faulty = crate::bridge::Chain::new(
        &dir,
        "faulty",
        &tandem_primitives::genesis::dev_l2_genesis(),
    );
    for number in 1..first {
        replay(&faulty, &m.b.inputs[&number]);
    }
    for _ in 0..crate::bridge::INTERVAL {
        m.l2(Vec::new());
    }
    m.b.post_batches();
    let thief = &dev::accounts()[4];
    let mint = IStandardBridge::finalizeMintCall {
        nativeToken: token,
        name: "Locked".into(),
        symbol: "LCK".into(),
        decimals: 18,
        from: thief.address,
        to: thief.address,
        amount: U256::from(500_000),
    };
    let relay = ICrossDomainMessenger::relayMessageCall {
        nonce: U256::from(1) << 240 | U256::from(1_000),
        sender: L1_STANDARD_BRIDGE,
        target: L2_STANDARD_BRIDGE,
        value: U256::ZERO,
        minGasLimit: U256::from(1_500_000),
        message: mint.abi_encode().into(),
    };
    let honest = m.b.inputs[&first].clone();
    let next = tandem_execution::l2::L1Origin::queue_index_of(&faulty.head());
    let forged_deposit = tandem_primitives::protocol::deposit_transaction(
        next,
        system::alias(L1_MESSENGER),
        L2_MESSENGER,
        U256::ZERO,
        U256::ZERO,
        2_000_000,
        relay.abi_encode().into(),
    );
    let entry = QueuedTx {
        index: next,
        l1_block: honest.l1_origin.number,
        tx: StoredTx {
            sender: system::alias(L1_MESSENGER),
            tx: tandem_primitives::TxEnvelope::Deposit(alloy_primitives::Sealed::new(
                forged_deposit,
            )),
        },
    };
    let home = IStandardBridge::bridgeERC20ToCall {
        localToken: rep,
        to: thief.address,
        amount: U256::from(500_000),
        minGasLimit: 200_000,
    };
    let steal = crate::bridge::l2_tx(
        thief,
        0,
        TxKind::Call(L2_STANDARD_BRIDGE),
        U256::ZERO,
        home.abi_encode(),
        1_000_000,
    );
    let block = rogue_block(
        &faulty,
        honest.timestamp,
        honest.l1_origin,
        &[entry],
        &[steal],
    );
    let passed = block
        .receipts
        .iter()
        .flat_map(|r| r.logs().to_vec())
        .find_map(|l| IL2ToL1MessagePasser::MessagePassed::decode_log_data(&l.data).ok())
        .expect("the faulty chain holds the thief's withdrawal");
    let forged = Withdrawal::from_event(&passed);
    faulty.storage.commit(&block.into_commit()).unwrap();
    for number in first + 1..first + crate::bridge::INTERVAL {
        replay(&faulty, &m.b.inputs[&number]);
    }
    let roots = (first..first + crate::bridge::INTERVAL)
        .map(|n| {
            output_at(&faulty.storage.read().unwrap(), n)
                .unwrap()
                .unwrap()
                .output_root
        })
        .collect();
    let claim = Claim {
        index: honest_outputs,
        first_block: first,
        roots,
    };
    m.b.propose_claim(FAULTY, &claim);
    let last = claim.last_block();
    let release = |m: &mut Messages| {
        let portal_call = forged_proof(&faulty, &forged, claim.index, last);
        let mut relay = IL1CrossDomainMessenger::relayMessageWithProofCall::SELECTOR.to_vec();
        relay.extend_from_slice(&portal_call[4..]);
        m.l1(CHALLENGER + 1, L1_MESSENGER, U256::ZERO, relay)
            .status()
    };
    let balance = |m: &Messages| {
        m.view(
            Layer::L1,
            token,
            TestToken::balanceOfCall {
                owner: thief.address,
            },
        )
    };
    // Not final yet: refused.
    assert!(!release(&mut m));
    if challenged {
        let verdict = challenger::check(&m.b.l2.storage.read().unwrap(), &claim).unwrap();
        assert_eq!(verdict, Verdict::Wrong(first));
        let challenge = m.b.challenge_of(&claim, first);
        assert_eq!(
            m.b.send_challenge(challenge),
            Some(true),
            "the challenger wins"
        );
        assert_eq!(
            m.b.output_count(),
            honest_outputs,
            "the wrong output is gone"
        );
        // The honest output takes its place and becomes final; the forgery never pays.
        m.b.propose();
        m.b.mine_l1(Vec::new(), WINDOW + 1);
        assert!(!release(&mut m));
        assert_eq!(balance(&m), U256::ZERO);
        assert_eq!(
            m.view(
                Layer::L1,
                L1_STANDARD_BRIDGE,
                IStandardBridge::lockedCall { token }
            ),
            U256::from(1_000_000)
        );
    } else {
        m.b.mine_l1(Vec::new(), WINDOW + 1);
        assert!(release(&mut m), "unchallenged, the forged output pays");
        assert_eq!(balance(&m), U256::from(500_000));
    }
    std::mem::forget(dir);
}

/// A relayer cannot make a message to L1 fail for want of the gas it asked for: at the least gas
/// with which `relayMessageWithProof` lands (what `eth_estimateGas` finds), a message whose call
/// needs most of a large minimum is delivered, not recorded as failed.
#[test]
fn the_least_gas_that_lands_a_relay_on_l1_delivers_a_large_message() {
    let mut m = Messages::new();
    let l2_sender = m.deploy(Layer::L2, 0, creation("MessageSender"));
    let l1_receiver = m.receiver(Layer::L1, L1_MESSENGER, l2_sender);
    let user = &dev::accounts()[3];
    // About 6.7M gas of work, under a 7M minimum.
    let tx = m.l2_tx(
        user,
        TxKind::Call(l2_sender),
        U256::ZERO,
        send(L2_MESSENGER, l1_receiver, set(1, 300), 7_000_000),
        1_000_000,
    );
    assert!(m.l2(vec![tx])[0].status());
    let proof = m.final_proofs().remove(0);
    let (to, calldata) = proof.call();
    let lands = |m: &Messages, gas: u64| {
        let tx =
            m.b.l1_tx_to(4, TxKind::Call(to), U256::ZERO, calldata.to_vec(), gas);
        let outcome = m.b.try_l1(tx).unwrap();
        outcome.result.is_success().then_some(outcome.result)
    };
    let (mut low, mut high) = (100_000u64, 16_000_000u64);
    assert!(lands(&m, high).is_some());
    while high - low > 1 {
        let mid = (low + high) / 2;
        match lands(&m, mid) {
            Some(_) => high = mid,
            None => low = mid,
        }
    }
    let result = lands(&m, high).unwrap();
    let logs: Vec<_> = result
        .logs()
        .iter()
        .filter(|l| l.address == L1_MESSENGER)
        .cloned()
        .collect();
    assert!(
        logs.iter()
            .any(|l| ICrossDomainMessenger::RelayedMessage::decode_log_data(&l.data).is_ok()),
        "delivered at {high} gas"
    );
    assert!(
        !logs
            .iter()
            .any(|l| ICrossDomainMessenger::FailedRelayedMessage::decode_log_data(&l.data).is_ok())
    );
}
