//! Calldata and logs as people read them, with every ABI the explorer knows: tandem's system
//! contracts (their interfaces' signatures), ERC-20 and ERC-721, WETH, Multicall3 and Uniswap V2.
//! Everything decoded comes from the chain: text is cut to page size.
use alloy_dyn_abi::{DynSolValue, EventExt, JsonAbiExt};
use alloy_json_abi::{Event, Function};
use alloy_primitives::hex;
use std::{collections::HashMap, sync::LazyLock};
use tandem_primitives::abi::{
    IBatchInbox::IBatchInboxCalls, IDisputeGame::IDisputeGameCalls, IL1Block::IL1BlockCalls,
    IL2ToL1MessagePasser::IL2ToL1MessagePasserCalls, IOutputOracle::IOutputOracleCalls,
    IPortal::IPortalCalls,
};

/// The most characters of one decoded call.
const MAX_TEXT: usize = 600;
/// The most items of a list shown.
const MAX_ITEMS: usize = 8;

/// Standard functions, by their human-readable signature (with parameter names).
const STANDARD: &[&str] = &[
    // ERC-20 (ERC-721's transferFrom shares its selector)
    "function transfer(address to, uint256 value)",
    "function approve(address spender, uint256 value)",
    "function transferFrom(address from, address to, uint256 value)",
    // ERC-721
    "function safeTransferFrom(address from, address to, uint256 tokenId)",
    "function safeTransferFrom(address from, address to, uint256 tokenId, bytes data)",
    "function setApprovalForAll(address operator, bool approved)",
    // WETH
    "function deposit()",
    "function withdraw(uint256 wad)",
    // Multicall3
    "function aggregate((address target, bytes callData)[] calls)",
    "function tryAggregate(bool requireSuccess, (address target, bytes callData)[] calls)",
    "function aggregate3((address target, bool allowFailure, bytes callData)[] calls)",
    "function aggregate3Value((address target, bool allowFailure, uint256 value, bytes callData)[] calls)",
    // Uniswap V2
    "function createPair(address tokenA, address tokenB)",
    "function addLiquidity(address tokenA, address tokenB, uint256 amountADesired, uint256 amountBDesired, uint256 amountAMin, uint256 amountBMin, address to, uint256 deadline)",
    "function addLiquidityETH(address token, uint256 amountTokenDesired, uint256 amountTokenMin, uint256 amountETHMin, address to, uint256 deadline)",
    "function removeLiquidity(address tokenA, address tokenB, uint256 liquidity, uint256 amountAMin, uint256 amountBMin, address to, uint256 deadline)",
    "function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline)",
    "function swapTokensForExactTokens(uint256 amountOut, uint256 amountInMax, address[] path, address to, uint256 deadline)",
    "function swapExactETHForTokens(uint256 amountOutMin, address[] path, address to, uint256 deadline)",
    "function swapExactTokensForETH(uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline)",
    "function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes data)",
    "function mint(address to)",
    "function burn(address to)",
    "function sync()",
];

/// Standard events, by their human-readable signature (ERC-20's `Transfer` is decoded before
/// these, with the token's name).
const STANDARD_EVENTS: &[&str] = &[
    "event Approval(address indexed owner, address indexed spender, uint256 value)",
    "event Transfer(address indexed from, address indexed to, uint256 indexed tokenId)",
    "event ApprovalForAll(address indexed owner, address indexed operator, bool approved)",
    "event Deposit(address indexed dst, uint256 wad)",
    "event Withdrawal(address indexed src, uint256 wad)",
    "event PairCreated(address indexed token0, address indexed token1, address pair, uint256 count)",
    "event Mint(address indexed sender, uint256 amount0, uint256 amount1)",
    "event Burn(address indexed sender, uint256 amount0, uint256 amount1, address indexed to)",
    "event Swap(address indexed sender, uint256 amount0In, uint256 amount1In, uint256 amount0Out, uint256 amount1Out, address indexed to)",
    "event Sync(uint112 reserve0, uint112 reserve1)",
];

/// The standard events by their first topic and number of indexed fields (ERC-20's and
/// ERC-721's `Transfer` share a first topic and differ there).
static EVENTS: LazyLock<HashMap<(alloy_primitives::B256, usize), Event>> = LazyLock::new(|| {
    STANDARD_EVENTS
        .iter()
        .filter_map(|s| Event::parse(s).ok())
        .map(|e| ((e.selector(), e.num_topics()), e))
        .collect()
});

/// A log of a standard event as (name, fields); `None` for any other.
pub fn event(
    topics: &[alloy_primitives::B256],
    data: &[u8],
) -> Option<(String, Vec<(String, String)>)> {
    let event = EVENTS.get(&(*topics.first()?, topics.len()))?;
    let decoded = event.decode_log_parts(topics.iter().copied(), data).ok()?;
    let (mut indexed, mut body) = (decoded.indexed.iter(), decoded.body.iter());
    let fields = event
        .inputs
        .iter()
        .map(|param| {
            let value = match param.indexed {
                true => indexed.next(),
                false => body.next(),
            };
            (param.name.clone(), value.map(show).unwrap_or_default())
        })
        .collect();
    Some((event.name.clone(), fields))
}

/// Every function the explorer can decode, by selector. A selector two ABIs share decodes with
/// the first listed (system contracts first).
static KNOWN: LazyLock<HashMap<[u8; 4], Function>> = LazyLock::new(|| {
    let system = [
        IPortalCalls::SIGNATURES,
        IOutputOracleCalls::SIGNATURES,
        IDisputeGameCalls::SIGNATURES,
        IBatchInboxCalls::SIGNATURES,
        IL1BlockCalls::SIGNATURES,
        IL2ToL1MessagePasserCalls::SIGNATURES,
    ];
    let signatures = system
        .iter()
        .flat_map(|s| s.iter().map(|s| format!("function {s}")))
        .chain(STANDARD.iter().map(|s| s.to_string()));
    let mut known = HashMap::new();
    for signature in signatures {
        if let Ok(function) = Function::parse(&signature) {
            known.entry(function.selector().0).or_insert(function);
        }
    }
    known
});

/// `input` as a call people read: `name(param: value, ...)`; `None` if no known function has its
/// selector or its arguments do not decode.
pub fn call(input: &[u8]) -> Option<String> {
    let selector: [u8; 4] = input.get(..4)?.try_into().ok()?;
    let function = KNOWN.get(&selector)?;
    let values = function.abi_decode_input(&input[4..]).ok()?;
    let args: Vec<String> = function
        .inputs
        .iter()
        .zip(&values)
        .enumerate()
        .map(|(i, (param, value))| {
            let name = match param.name.is_empty() {
                true => format!("arg{i}"),
                false => param.name.clone(),
            };
            format!("{name}: {}", show(value))
        })
        .collect();
    Some(cut(format!("{}({})", function.name, args.join(", "))))
}

pub(crate) fn cut(mut text: String) -> String {
    if text.chars().count() > MAX_TEXT {
        text = text.chars().take(MAX_TEXT).collect::<String>() + "…";
    }
    text
}

fn show(value: &DynSolValue) -> String {
    let list = |items: &[DynSolValue], open: &str, close: &str| {
        let mut shown: Vec<String> = items.iter().take(MAX_ITEMS).map(show).collect();
        if items.len() > MAX_ITEMS {
            shown.push(format!("… {} more", items.len() - MAX_ITEMS));
        }
        format!("{open}{}{close}", shown.join(", "))
    };
    match value {
        DynSolValue::Address(a) => a.to_checksum(None),
        DynSolValue::Bool(b) => b.to_string(),
        DynSolValue::Uint(u, _) => u.to_string(),
        DynSolValue::Int(i, _) => i.to_string(),
        DynSolValue::FixedBytes(word, size) => hex::encode_prefixed(&word[..*size]),
        DynSolValue::Bytes(b) if b.len() > 32 => {
            format!("{}… ({} bytes)", hex::encode_prefixed(&b[..32]), b.len())
        }
        DynSolValue::Bytes(b) => hex::encode_prefixed(b),
        DynSolValue::String(s) => cut(format!("{s:?}")),
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) => list(items, "[", "]"),
        DynSolValue::Tuple(items) => list(items, "(", ")"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::U256;

    #[test]
    fn known_calls_read_as_people_write_them() {
        let to = alloy_primitives::Address::repeat_byte(0x11);
        let transfer = [
            &hex::decode("a9059cbb").unwrap()[..],
            &to.into_word()[..],
            &U256::from(5).to_be_bytes::<32>(),
        ]
        .concat();
        assert_eq!(
            call(&transfer).unwrap(),
            format!("transfer(to: {}, value: 5)", to.to_checksum(None))
        );
        // A system contract's call, by its interface's signature.
        use alloy_sol_types::SolCall;
        let deposit = tandem_primitives::abi::IPortal::depositTransactionCall {
            to,
            value: U256::from(7),
            gasLimit: 100_000,
            data: vec![1, 2].into(),
        }
        .abi_encode();
        let text = call(&deposit).unwrap();
        assert!(
            text.starts_with("depositTransaction(arg0: 0x1111"),
            "{text}"
        );
        assert!(text.ends_with("arg2: 100000, arg3: 0x0102)"), "{text}");
        // Unknown selectors, short input and garbage arguments are not decoded.
        assert_eq!(call(&[0xde, 0xad, 0xbe, 0xef]), None);
        assert_eq!(call(&[0xa9, 0x05]), None);
        assert_eq!(call(&hex::decode("a9059cbb00").unwrap()), None);
    }

    #[test]
    fn standard_events_decode_with_their_field_names() {
        let (a, b) = (
            alloy_primitives::Address::repeat_byte(1),
            alloy_primitives::Address::repeat_byte(2),
        );
        // ERC-721's Transfer: the token id is a topic.
        let topics = [
            alloy_primitives::keccak256("Transfer(address,address,uint256)"),
            a.into_word(),
            b.into_word(),
            U256::from(9).into(),
        ];
        let (name, fields) = event(&topics, &[]).unwrap();
        assert_eq!(name, "Transfer");
        assert_eq!(fields[2], ("tokenId".to_string(), "9".to_string()));
        // Uniswap's Sync: all data.
        let sync = alloy_primitives::keccak256("Sync(uint112,uint112)");
        let data = [
            U256::from(3).to_be_bytes::<32>(),
            U256::from(4).to_be_bytes::<32>(),
        ]
        .concat();
        let (name, fields) = event(&[sync], &data).unwrap();
        assert_eq!((name.as_str(), fields[1].1.as_str()), ("Sync", "4"));
        // Short data is not decoded.
        assert_eq!(event(&[sync], &data[..40]), None);
    }
}
