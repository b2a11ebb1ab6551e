//! Logs and revert data as people read them: ERC-20 transfers and tandem's system-contract
//! events by name, with their fields; revert reasons as text.
use crate::rpc::{Node, address, b256, bytes};
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_sol_types::{SolError, SolEvent, sol};
use serde_json::Value;
use tandem_primitives::abi::{IBatchInbox, IL2ToL1MessagePasser, IOutputOracle, IPortal};

sol! {
    event Transfer(address indexed from, address indexed to, uint256 value);
    function name() external view returns (string);
    function symbol() external view returns (string);
}

/// One log, decoded where the explorer knows its event.
#[derive(Debug, Clone)]
pub struct DecodedLog {
    pub address: Address,
    /// The event's name, or the raw first topic.
    pub event: String,
    /// (field, value) pairs, or the raw topics and data.
    pub fields: Vec<(String, String)>,
    /// Set for ERC-20 transfers: the token's name and symbol as the contract reports them.
    pub token: Option<String>,
}

fn field(name: &str, value: impl ToString) -> (String, String) {
    (name.to_string(), value.to_string())
}

/// Decodes a receipt's log.
pub async fn log(node: &Node, log: &Value) -> Option<DecodedLog> {
    let emitter = address(&log["address"])?;
    let topics: Vec<B256> = log["topics"].as_array()?.iter().filter_map(b256).collect();
    let data = bytes(&log["data"]).unwrap_or_default();
    let raw = alloy_primitives::LogData::new(topics.clone(), data.clone().into())?;
    let topic0 = topics.first().copied().unwrap_or_default();
    macro_rules! known {
        ($event:ty, |$e:ident| $fields:expr) => {
            if topic0 == <$event>::SIGNATURE_HASH
                && let Ok($e) = <$event>::decode_log_data(&raw)
            {
                return Some(DecodedLog {
                    address: emitter,
                    event: <$event>::SIGNATURE
                        .split('(')
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                    fields: $fields,
                    token: None,
                });
            }
        };
    }
    if topic0 == Transfer::SIGNATURE_HASH
        && topics.len() == 3
        && let Ok(e) = Transfer::decode_log_data(&raw)
    {
        return Some(DecodedLog {
            address: emitter,
            event: "Transfer".into(),
            fields: vec![
                field("from", e.from),
                field("to", e.to),
                field("value", e.value),
            ],
            token: Some(token_name(node, emitter).await),
        });
    }
    known!(IBatchInbox::BatchSubmitted, |e| vec![
        field("sequence", e.sequence),
        field("commitment", e.commitment),
        field("size", e.size),
    ]);
    known!(IPortal::TransactionDeposited, |e| vec![
        field("index", e.index),
        field("from", e.from),
        field("to", e.to),
        field("mint", e.mint),
        field("value", e.value),
        field("gasLimit", e.gasLimit),
    ]);
    known!(IPortal::TransactionForced, |e| vec![
        field("index", e.index),
        field("sender", e.sender),
        field("transaction bytes", e.transaction.len()),
    ]);
    known!(IPortal::WithdrawalFinalized, |e| vec![
        field("withdrawalHash", e.withdrawalHash),
        field("target", e.target),
        field("value", e.value),
    ]);
    known!(IOutputOracle::OutputProposed, |e| vec![
        field("index", e.index),
        field("outputRoot", e.outputRoot),
        field("l2BlockNumber", e.l2BlockNumber),
        field("proposer", e.proposer),
    ]);
    known!(IOutputOracle::BondClaimed, |e| vec![
        field("index", e.index),
        field("proposer", e.proposer),
        field("amount", e.amount),
    ]);
    known!(IL2ToL1MessagePasser::MessagePassed, |e| vec![
        field("nonce", e.nonce),
        field("sender", e.sender),
        field("target", e.target),
        field("value", e.value),
        field("withdrawalHash", e.withdrawalHash),
    ]);
    if let Some((event, fields)) = crate::abi::event(&topics, &data) {
        return Some(DecodedLog {
            address: emitter,
            event,
            fields,
            token: None,
        });
    }
    let mut fields: Vec<(String, String)> = topics
        .iter()
        .enumerate()
        .map(|(i, t)| field(&format!("topic{i}"), t))
        .collect();
    fields.push(field("data", alloy_primitives::hex::encode_prefixed(&data)));
    Some(DecodedLog {
        address: emitter,
        event: format!("{topic0}"),
        fields,
        token: None,
    })
}

/// "Name (SYMBOL)" of an ERC-20 contract, as untrusted text; "unknown token" if it has none.
async fn token_name(node: &Node, token: Address) -> String {
    use alloy_sol_types::SolCall;
    let ask = |data: Vec<u8>| {
        let call = serde_json::json!({ "to": token, "data": alloy_primitives::hex::encode_prefixed(data) });
        node.eth_call(call, "latest".into())
    };
    let name = match ask(nameCall {}.abi_encode()).await {
        Ok(Ok(out)) => nameCall::abi_decode_returns(&out).ok(),
        _ => None,
    };
    let symbol = match ask(symbolCall {}.abi_encode()).await {
        Ok(Ok(out)) => symbolCall::abi_decode_returns(&out).ok(),
        _ => None,
    };
    match (name, symbol) {
        (Some(n), Some(s)) => format!("{n} ({s})"),
        (Some(n), None) => n,
        (None, Some(s)) => s,
        (None, None) => "unknown token".into(),
    }
}

sol! {
    error Error(string reason);
    error Panic(uint256 code);
}

/// Revert data as text: `Error(string)`, `Panic(uint256)`, a system contract's error by name,
/// or the raw bytes.
pub fn revert_reason(data: &[u8]) -> String {
    if let Ok(e) = Error::abi_decode(data) {
        return e.reason;
    }
    if let Ok(e) = Panic::abi_decode(data) {
        return format!("panic 0x{:x}", e.code);
    }
    for (signature, name) in SYSTEM_ERRORS {
        if data.len() >= 4 && keccak256(signature.as_bytes())[..4] == data[..4] {
            return (*name).to_string();
        }
    }
    if data.is_empty() {
        "reverted without a reason".into()
    } else {
        alloy_primitives::hex::encode_prefixed(data)
    }
}

/// The errors of tandem's system contracts, by signature.
const SYSTEM_ERRORS: &[(&str, &str)] = &[
    (
        "OutputNotFinal(uint256,uint64)",
        "OutputNotFinal: the output's challenge window has not passed",
    ),
    ("BadOutputRootProof()", "BadOutputRootProof"),
    ("BadWithdrawalProof()", "BadWithdrawalProof"),
    (
        "AlreadyFinalized(bytes32)",
        "AlreadyFinalized: this withdrawal was paid before",
    ),
    ("OutputNotFound(uint256)", "OutputNotFound"),
    ("GasLimitOutOfRange(uint64)", "GasLimitOutOfRange"),
    ("WrongSequence(uint64,uint64)", "WrongSequence"),
    ("NotBatcher(address)", "NotBatcher"),
    ("WrongBlockNumber(uint64,uint64)", "WrongBlockNumber"),
    ("BondTooLow(uint256,uint256)", "BondTooLow"),
    ("DataTooLarge(uint256)", "DataTooLarge"),
    (
        "OnlyTarget(address)",
        "OnlyTarget: a withdrawal with data is finalized by its target",
    ),
    ("NotAllowed()", "NotAllowed"),
];

/// Wei as ETH with up to 9 decimals ("1.5 ETH").
pub fn eth(wei: U256) -> String {
    let text = alloy_primitives::utils::format_units(wei, 18).unwrap_or_else(|_| wei.to_string());
    let trimmed = text.trim_end_matches('0').trim_end_matches('.');
    format!("{} ETH", if trimmed.is_empty() { "0" } else { trimmed })
}

/// Wei as gwei, to 6 decimals at most (L2 gas costs thousandths of a gwei).
pub fn gwei(wei: U256) -> String {
    if wei < U256::from(1_000u64) {
        return format!("{wei} wei");
    }
    let text = alloy_primitives::utils::format_units(wei, 9).unwrap_or_else(|_| wei.to_string());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let fraction = fraction[..fraction.len().min(6)].trim_end_matches('0');
    if fraction.is_empty() {
        format!("{whole} gwei")
    } else {
        format!("{whole}.{fraction} gwei")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_people_write_them() {
        assert_eq!(
            eth(U256::from(10u64).pow(U256::from(18)) / U256::from(2)),
            "0.5 ETH"
        );
        assert_eq!(eth(U256::ZERO), "0 ETH");
        assert_eq!(gwei(U256::from(1_000_000u64)), "0.001 gwei");
        assert_eq!(gwei(U256::from(1_769_000_000u64)), "1.769 gwei");
        assert_eq!(gwei(U256::from(7u64)), "7 wei");
    }

    #[test]
    fn revert_reasons_are_text() {
        use alloy_sol_types::SolError;
        let data = Error {
            reason: "insufficient balance".into(),
        }
        .abi_encode();
        assert_eq!(revert_reason(&data), "insufficient balance");
        assert_eq!(revert_reason(&[]), "reverted without a reason");
        let finalized = keccak256("AlreadyFinalized(bytes32)".as_bytes())[..4].to_vec();
        assert!(revert_reason(&finalized).starts_with("AlreadyFinalized"));
    }
}
