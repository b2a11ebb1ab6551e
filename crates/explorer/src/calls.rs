//! A transaction's internal calls as the node's `callTracer` reports them, each decoded with the
//! ABIs the explorer knows ([`crate::abi`]). The node's answer is untrusted: the tree is walked
//! without recursion and cut at [`MAX_FRAMES`].
use crate::{
    abi::{call, cut},
    decode::eth,
    rpc::{Node, u256},
};
use alloy_primitives::{U256, hex};
use serde_json::{Value, json};

/// The most calls a page lists.
pub const MAX_FRAMES: usize = 500;

/// One call of a transaction, as a row of its tree.
#[derive(Debug, Clone)]
pub struct Frame {
    pub depth: usize,
    /// CALL, DELEGATECALL, STATICCALL, CREATE, ...
    pub kind: String,
    pub from: String,
    pub to: String,
    /// Ether sent, when any.
    pub value: Option<String>,
    /// The decoded call, else its selector, else "—".
    pub call: String,
    pub gas_used: u64,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// A transaction's calls, outermost first in execution order.
#[derive(Debug, Clone, Default)]
pub struct CallTree {
    pub frames: Vec<Frame>,
    /// Set when the tree was longer than [`MAX_FRAMES`].
    pub truncated: bool,
}

impl CallTree {
    /// The frames that moved ether: (from, to, amount).
    pub fn value_moves(&self) -> Vec<(String, String, String)> {
        self.frames
            .iter()
            .filter(|f| f.error.is_none())
            .filter_map(|f| Some((f.from.clone(), f.to.clone(), f.value.clone()?)))
            .collect()
    }
}

/// The call tree of transaction `hash`, from the node's `callTracer`.
pub async fn tree(node: &Node, hash: &str) -> Result<CallTree, String> {
    let options = json!({"tracer": "callTracer", "timeout": "5s"});
    let trace = node
        .call("debug_traceTransaction", vec![json!(hash), options])
        .await
        .map_err(|e| e.to_string())?;
    Ok(walk(&trace))
}

/// The frames of a `callTracer` answer, depth first, at most [`MAX_FRAMES`].
pub fn walk(trace: &Value) -> CallTree {
    let mut tree = CallTree::default();
    let mut stack = vec![(0usize, trace)];
    while let Some((depth, frame)) = stack.pop() {
        if tree.frames.len() == MAX_FRAMES {
            tree.truncated = true;
            break;
        }
        let text = |key: &str| frame[key].as_str().unwrap_or_default().to_string();
        let input = crate::rpc::bytes(&frame["input"]).unwrap_or_default();
        let value = u256(&frame["value"]).filter(|v| *v > U256::ZERO).map(eth);
        let call = match (call(&input), input.get(..4)) {
            (Some(decoded), _) => decoded,
            (None, Some(selector)) => hex::encode_prefixed(selector),
            (None, None) => "—".to_string(),
        };
        let error = frame["error"]
            .as_str()
            .map(|e| match frame["revertReason"].as_str() {
                Some(reason) => cut(format!("{e}: {reason}")),
                None => cut(e.to_string()),
            });
        tree.frames.push(Frame {
            depth,
            kind: text("type"),
            from: text("from"),
            to: text("to"),
            value,
            call,
            gas_used: crate::rpc::quantity(&frame["gasUsed"]).unwrap_or_default(),
            error,
        });
        if let Some(calls) = frame["calls"].as_array() {
            // Pushed in reverse so the first call comes off the stack first.
            stack.extend(calls.iter().rev().map(|c| (depth + 1, c)));
        }
    }
    tree
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_tree_is_walked_in_order_and_cut_at_its_bound() {
        let trace = json!({
            "type": "CALL", "from": "0xa", "to": "0xb", "value": "0x3e8", "gasUsed": "0x5208",
            "input": "0x",
            "calls": [
                {"type": "CALL", "from": "0xb", "to": "0xc", "input": "0xdeadbeef",
                 "error": "execution reverted", "revertReason": "no"},
                {"type": "STATICCALL", "from": "0xb", "to": "0xd", "input": "0x",
                 "calls": [{"type": "CALL", "from": "0xd", "to": "0xe", "value": "0x1", "input": "0x"}]},
            ],
        });
        let tree = walk(&trace);
        let shape: Vec<(usize, &str)> = tree
            .frames
            .iter()
            .map(|f| (f.depth, f.to.as_str()))
            .collect();
        assert_eq!(shape, [(0, "0xb"), (1, "0xc"), (1, "0xd"), (2, "0xe")]);
        assert_eq!(tree.frames[1].call, "0xdeadbeef");
        assert_eq!(
            tree.frames[1].error.as_deref(),
            Some("execution reverted: no")
        );
        assert_eq!(tree.value_moves().len(), 2);
        assert!(!tree.truncated);
        // A hostile node's answer as deep and wide as it likes is cut, never recursed into.
        let mut deep = json!({"type": "CALL"});
        for _ in 0..(MAX_FRAMES * 2) {
            deep = json!({"type": "CALL", "calls": [deep]});
        }
        let tree = walk(&deep);
        assert_eq!(tree.frames.len(), MAX_FRAMES);
        assert!(tree.truncated);
    }
}
