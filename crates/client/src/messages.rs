//! Messages and tokens between the layers, through the messengers and the standard bridges
//! (contracts/ICrossDomainMessenger.sol, contracts/IStandardBridge.sol): sending either way, what
//! a transaction sent, and relaying again a message whose relay failed.
use crate::{Client, ClientError, Result, RpcReceipt, succeeded};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256, utils::format_units};
use alloy_sol_types::{SolCall, SolEvent, sol};
use serde::Serialize;
use std::time::Duration;
use tandem_primitives::{
    abi::{ICrossDomainMessenger, IPortal, IStandardBridge},
    protocol::deposit_transaction,
    system::{L1_MESSENGER, L1_STANDARD_BRIDGE, L2_MESSENGER, L2_STANDARD_BRIDGE, PORTAL},
};

sol! {
    interface IERC20 {
        function decimals() external view returns (uint8);
        function symbol() external view returns (string);
        function allowance(address owner, address spender) external view returns (uint256);
        function approve(address spender, uint256 amount) external returns (bool);
    }
}

/// The least gas a token move asks for on the other layer: room to deploy the token's
/// representation there on its first crossing.
pub const TOKEN_MIN_GAS: u32 = 1_500_000;
/// The least gas a message's call gets on the other layer unless told otherwise.
pub const MESSAGE_MIN_GAS: u32 = 200_000;

/// Which layer a transaction is sent on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    L1,
    L2,
}

impl Layer {
    pub fn messenger(self) -> Address {
        match self {
            Layer::L1 => L1_MESSENGER,
            Layer::L2 => L2_MESSENGER,
        }
    }

    pub fn bridge(self) -> Address {
        match self {
            Layer::L1 => L1_STANDARD_BRIDGE,
            Layer::L2 => L2_STANDARD_BRIDGE,
        }
    }

    pub fn other(self) -> Self {
        match self {
            Layer::L1 => Layer::L2,
            Layer::L2 => Layer::L1,
        }
    }
}

/// One message a transaction sent, as the other layer's messenger relays it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message {
    /// OP's version-1 hash: `successfulMessages` and `failedMessages` key on it.
    pub hash: B256,
    pub nonce: U256,
    pub sender: Address,
    pub target: Address,
    /// Decimal wei.
    pub value: String,
    pub min_gas_limit: U256,
    pub message: Bytes,
    /// The token move the sending layer's standard bridge made this message carry, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenMove>,
}

/// A token the standard bridge sent with a message: its address on the sending layer and the
/// amount in its smallest units.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenMove {
    pub local_token: Address,
    pub amount: U256,
}

impl Message {
    /// The `relayMessage` call that delivers it.
    pub fn relay_call(&self) -> Bytes {
        relay_call(
            self.nonce,
            self.sender,
            self.target,
            self.value.parse().unwrap_or_default(),
            self.min_gas_limit,
            self.message.clone(),
        )
    }
}

fn relay_call(
    nonce: U256,
    sender: Address,
    target: Address,
    value: U256,
    min_gas: U256,
    message: Bytes,
) -> Bytes {
    ICrossDomainMessenger::relayMessageCall {
        nonce,
        sender,
        target,
        value,
        minGasLimit: min_gas,
        message,
    }
    .abi_encode()
    .into()
}

/// The messages the messenger of `layer` sent in `receipt` (its `SentMessage` events, each with
/// the value its `SentMessageExtension1` gives and the token move the bridge's
/// `ERC20BridgeInitiated` after it says it carries).
pub fn sent_in(receipt: &RpcReceipt, layer: Layer) -> Vec<Message> {
    let logs = receipt.inner.logs();
    let bridge = layer.bridge();
    let mut sent = Vec::new();
    for (i, log) in logs.iter().enumerate() {
        if log.address() != layer.messenger() {
            continue;
        }
        let Ok(e) = ICrossDomainMessenger::SentMessage::decode_log_data(log.data()) else {
            continue;
        };
        let value = logs
            .get(i + 1)
            .and_then(|l| {
                ICrossDomainMessenger::SentMessageExtension1::decode_log_data(l.data()).ok()
            })
            .map(|e| e.value)
            .unwrap_or_default();
        let call = relay_call(
            e.messageNonce,
            e.sender,
            e.target,
            value,
            e.gasLimit,
            e.message.clone(),
        );
        let token = (e.sender == bridge)
            .then(|| {
                logs[i..]
                    .iter()
                    .filter(|l| l.address() == bridge)
                    .find_map(|l| {
                        IStandardBridge::ERC20BridgeInitiated::decode_log_data(l.data()).ok()
                    })
            })
            .flatten()
            .map(|t| TokenMove {
                local_token: t.localToken,
                amount: t.amount,
            });
        sent.push(Message {
            hash: keccak256(&call),
            nonce: e.messageNonce,
            sender: e.sender,
            target: e.target,
            value: value.to_string(),
            min_gas_limit: e.gasLimit,
            message: e.message,
            token,
        });
    }
    sent
}

/// What sending a message or a token did: the transaction on the sending layer, the messages it
/// sent, and, for one sent from L1, its deposit on L2 and whether that relayed each message.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sent {
    pub layer: Layer,
    pub transaction: B256,
    pub block: Option<u64>,
    pub messages: Vec<Message>,
    /// From L1: the deposit that carries the message on L2.
    pub l2_transaction: Option<B256>,
    /// From L1, once L2 ran the deposit: `relayed`, or `failed` (relay it again with
    /// `tandem bridge relay`).
    pub delivery: Option<String>,
    /// A token move: the token on the sending layer and its amount in its own units.
    pub token: Option<Address>,
    pub amount: Option<String>,
}

impl std::fmt::Display for Sent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (from, to) = match self.layer {
            Layer::L1 => ("L1", "L2"),
            Layer::L2 => ("L2", "L1"),
        };
        if let (Some(token), Some(amount)) = (&self.token, &self.amount) {
            writeln!(f, "Sent {amount} of token {token} from {from} to {to}")?;
        }
        for m in &self.messages {
            writeln!(f, "Message {} to {} on {to}", m.hash, m.target)?;
        }
        writeln!(
            f,
            "  {from} transaction {} (block {})",
            self.transaction,
            self.block.unwrap_or_default()
        )?;
        if let Some(hash) = self.l2_transaction {
            writeln!(
                f,
                "  L2 deposit {hash}: {}",
                self.delivery.as_deref().unwrap_or("pending")
            )?;
        }
        match self.layer {
            Layer::L2 => writeln!(
                f,
                "  next: `tandem bridge finalize {}` once an output covering it is past its challenge window",
                self.transaction
            ),
            Layer::L1 if self.delivery.as_deref() == Some("failed") => writeln!(
                f,
                "  next: `tandem bridge relay {} --from l1` with more gas",
                self.transaction
            ),
            Layer::L1 => Ok(()),
        }
    }
}

/// Sends `message` to `target` on the other layer from `key` on `layer`, with `value` wei.
pub async fn send_message(
    client: &Client,
    layer: Layer,
    key: &tandem_primitives::dev::DevAccount,
    (target, message): (Address, Bytes),
    value: U256,
    min_gas: u32,
    patience: Duration,
) -> Result<RpcReceipt> {
    let call = ICrossDomainMessenger::sendMessageCall {
        target,
        message,
        minGasLimit: min_gas,
    };
    let receipt = client
        .transact(
            key,
            layer.messenger(),
            value,
            call.abi_encode().into(),
            patience,
        )
        .await?;
    reverted_is_error(receipt, "sending the message")
}

/// Sends `amount` (in the token's smallest units) of `token` from `key` on `layer` to `to` on the
/// other layer through the standard bridge, approving the bridge first if the token is native to
/// `layer` and the allowance is short (a representation is burnt, needing none).
pub async fn send_token(
    client: &Client,
    layer: Layer,
    key: &tandem_primitives::dev::DevAccount,
    (token, amount): (Address, U256),
    to: Address,
    min_gas: u32,
    patience: Duration,
) -> Result<RpcReceipt> {
    let bridge = layer.bridge();
    let native = client
        .call_sol(bridge, &IStandardBridge::nativeOfCall { token })
        .await?;
    if native.is_zero() {
        let allowance = client
            .call_sol(
                token,
                &IERC20::allowanceCall {
                    owner: key.address,
                    spender: bridge,
                },
            )
            .await?;
        if allowance < amount {
            let approve = IERC20::approveCall {
                spender: bridge,
                amount,
            };
            let receipt = client
                .transact(
                    key,
                    token,
                    U256::ZERO,
                    approve.abi_encode().into(),
                    patience,
                )
                .await?;
            reverted_is_error(receipt, "approving the bridge")?;
        }
    }
    let call = IStandardBridge::bridgeERC20ToCall {
        localToken: token,
        to,
        amount,
        minGasLimit: min_gas,
    };
    let receipt = client
        .transact(key, bridge, U256::ZERO, call.abi_encode().into(), patience)
        .await?;
    reverted_is_error(receipt, "bridging the token")
}

/// A token's amount in its smallest units from a decimal string in its own units ("1.5").
pub async fn token_units(client: &Client, token: Address, amount: &str) -> Result<U256> {
    let decimals = client.call_sol(token, &IERC20::decimalsCall {}).await?;
    let units = alloy_primitives::utils::parse_units(amount, decimals).map_err(|e| {
        ClientError::Failed(format!("{amount:?} is not an amount of this token: {e}"))
    })?;
    match units.get_absolute() {
        zero if zero.is_zero() => Err(ClientError::Failed(
            "the amount must be more than zero".into(),
        )),
        units => Ok(units),
    }
}

/// `units` of `token` in its own units, for people.
pub async fn token_amount(client: &Client, token: Address, units: U256) -> Result<String> {
    let decimals = client.call_sol(token, &IERC20::decimalsCall {}).await?;
    Ok(format_units(units, decimals).unwrap_or_else(|_| units.to_string()))
}

/// What `receipt` (on `layer`) sent; from L1, waits for L2 to run the deposit that carries it and
/// says whether its messenger relayed each message.
pub async fn follow(
    l2: &Client,
    layer: Layer,
    receipt: &RpcReceipt,
    patience: Duration,
) -> Result<Sent> {
    let messages = sent_in(receipt, layer);
    let mut sent = Sent {
        layer,
        transaction: receipt.transaction_hash,
        block: receipt.block_number,
        messages,
        l2_transaction: None,
        delivery: None,
        token: None,
        amount: None,
    };
    if layer == Layer::L2 {
        return Ok(sent);
    }
    let Some(hash) = deposit_of(receipt) else {
        return Ok(sent);
    };
    sent.l2_transaction = Some(hash);
    l2.wait_receipt(hash, patience).await?;
    let relayed = delivered(l2, Layer::L2, &sent.messages).await?;
    sent.delivery = Some(if relayed { "relayed" } else { "failed" }.into());
    Ok(sent)
}

/// The hash of the L2 deposit transaction the Portal queued in `receipt` (an L1 transaction), if
/// it queued one.
pub fn deposit_of(receipt: &RpcReceipt) -> Option<B256> {
    let e = receipt.inner.logs().iter().find_map(|log| {
        (log.address() == PORTAL)
            .then(|| IPortal::TransactionDeposited::decode_log_data(log.data()).ok())
            .flatten()
    })?;
    let deposit = deposit_transaction(e.index, e.from, e.to, e.mint, e.value, e.gasLimit, e.data);
    Some(deposit.tx_hash())
}

/// Whether the messenger on `on` relayed every one of `messages`.
async fn delivered(client: &Client, on: Layer, messages: &[Message]) -> Result<bool> {
    for m in messages {
        let done = client
            .call_sol(
                on.messenger(),
                &ICrossDomainMessenger::successfulMessagesCall { msgHash: m.hash },
            )
            .await?;
        if !done {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Where a message stands on the layer it was sent to.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageStatus {
    pub hash: B256,
    pub target: Address,
    /// `relayed`, `failed` (relay it again), or `pending` (not delivered yet: a deposit L2 has not
    /// run, or a withdrawal not finalized on L1).
    pub stage: String,
}

impl std::fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "Message {} to {}: {}",
            self.hash, self.target, self.stage
        )
    }
}

/// Where a message stands on the layer it was sent to, as its messenger records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record {
    Relayed,
    Failed,
    Pending,
}

/// The messages `tx` (on `from`) sent, each with its record on the other layer, and that layer's
/// client; an error if it sent none.
async fn recorded<'c>(
    (l1, l2): (&'c Client, &'c Client),
    from: Layer,
    tx: B256,
) -> Result<(&'c Client, Vec<(Message, Record)>)> {
    let (source, destination) = match from {
        Layer::L1 => (l1, l2),
        Layer::L2 => (l2, l1),
    };
    let receipt = source
        .receipt(tx)
        .await?
        .ok_or_else(|| ClientError::Failed(format!("no transaction {tx} on {from:?}")))?;
    let messages = sent_in(&receipt, from);
    if messages.is_empty() {
        return Err(ClientError::Failed(format!(
            "transaction {tx} sent no message"
        )));
    }
    let messenger = from.other().messenger();
    let mut records = Vec::with_capacity(messages.len());
    for m in messages {
        let hash = m.hash;
        let done = destination
            .call_sol(
                messenger,
                &ICrossDomainMessenger::successfulMessagesCall { msgHash: hash },
            )
            .await?;
        let failed = destination
            .call_sol(
                messenger,
                &ICrossDomainMessenger::failedMessagesCall { msgHash: hash },
            )
            .await?;
        let record = match (done, failed) {
            (true, _) => Record::Relayed,
            (false, true) => Record::Failed,
            (false, false) => Record::Pending,
        };
        records.push((m, record));
    }
    Ok((destination, records))
}

/// Where each message `tx` (on `from`) sent stands on the other layer; an error if it sent none.
pub async fn status(
    clients: (&Client, &Client),
    from: Layer,
    tx: B256,
) -> Result<Vec<MessageStatus>> {
    let (_, records) = recorded(clients, from, tx).await?;
    Ok(records
        .into_iter()
        .map(|(m, record)| MessageStatus {
            hash: m.hash,
            target: m.target,
            stage: match record {
                Record::Relayed => "relayed",
                Record::Failed => "failed",
                Record::Pending => "pending",
            }
            .into(),
        })
        .collect())
}

/// What `tandem bridge relay` did with each message of a transaction.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Relayed {
    pub hash: B256,
    /// `relayed` (by this call), `already relayed`.
    pub outcome: String,
    pub transaction: Option<B256>,
}

impl std::fmt::Display for Relayed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.transaction {
            Some(tx) => writeln!(f, "Message {} {} in {tx}", self.hash, self.outcome),
            None => writeln!(f, "Message {} {}", self.hash, self.outcome),
        }
    }
}

/// Relays again every failed message `source_tx` (on `from`) sent, on the other layer, signed by
/// `key` (gas estimated: a replay that fails reverts, so the estimate is what delivers it). A
/// message relayed before is reported as such; one not delivered yet is an error.
pub async fn relay_failed(
    clients: (&Client, &Client),
    from: Layer,
    source_tx: B256,
    key: &tandem_primitives::dev::DevAccount,
    patience: Duration,
) -> Result<Vec<Relayed>> {
    let (destination, records) = recorded(clients, from, source_tx).await?;
    let messenger = from.other().messenger();
    let mut relayed = Vec::with_capacity(records.len());
    for (m, record) in records {
        let transaction = match record {
            Record::Relayed => None,
            Record::Pending => {
                let how = match from {
                    Layer::L1 => "its deposit has not run on L2 yet",
                    Layer::L2 => "finalize it on L1 first (`tandem bridge finalize`)",
                };
                return Err(ClientError::Failed(format!(
                    "message {} has not been delivered: {how}",
                    m.hash
                )));
            }
            Record::Failed => {
                let receipt = destination
                    .transact(key, messenger, U256::ZERO, m.relay_call(), patience)
                    .await?;
                Some(reverted_is_error(receipt, "relaying the message")?.transaction_hash)
            }
        };
        let outcome = match transaction {
            Some(_) => "relayed",
            None => "already relayed",
        };
        relayed.push(Relayed {
            hash: m.hash,
            outcome: outcome.into(),
            transaction,
        });
    }
    Ok(relayed)
}

fn reverted_is_error(receipt: RpcReceipt, what: &str) -> Result<RpcReceipt> {
    match succeeded(&receipt) {
        true => Ok(receipt),
        false => Err(ClientError::Failed(format!(
            "{what} reverted: {}",
            receipt.transaction_hash
        ))),
    }
}
