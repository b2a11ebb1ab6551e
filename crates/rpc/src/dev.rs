//! Dev mode only: `eth_sendTransaction` signed with the unlocked dev accounts, as anvil does.
use crate::{Backend, RpcError, call, error::Result, fees, submit_raw_transaction};
use alloy_consensus::{TxEip1559, TxEip2930, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{B256, TxKind};
use alloy_rpc_types_eth::TransactionRequest;

/// Fills in what the request leaves out (nonce, gas, fees), signs with the dev key of `from` and
/// submits it like `eth_sendRawTransaction`.
pub(crate) fn send_transaction(backend: &Backend, mut request: TransactionRequest) -> Result<B256> {
    let from = request
        .from
        .ok_or_else(|| RpcError::invalid_params("missing from address"))?;
    let signer = backend
        .dev_signers
        .iter()
        .find(|s| s.address == from)
        .ok_or_else(|| RpcError::server(format!("unknown account {from}")))?;
    let chain_id = backend.chain.chain_id;
    if request.chain_id.is_some_and(|id| id != chain_id) {
        return Err(RpcError::server(format!(
            "invalid chain id: have {:?}, want {chain_id}",
            request.chain_id
        )));
    }
    let reader = backend.storage.read()?;
    let state_nonce = reader.account(from)?.map(|a| a.nonce).unwrap_or_default();
    let nonce = request
        .nonce
        .unwrap_or_else(|| backend.pool.lock().next_nonce(from, state_nonce));
    request.nonce = Some(nonce);
    let gas_limit = match request.gas {
        Some(gas) => gas,
        None => call::estimate_gas(backend, &request, None)?,
    };
    let to = request.to.unwrap_or(TxKind::Create);
    let value = request.value.unwrap_or_default();
    let input = request.input.input().cloned().unwrap_or_default();
    let tx = if let Some(gas_price) = request.gas_price {
        match request.access_list {
            Some(access_list) => signer.sign(TxEip2930 {
                chain_id,
                nonce,
                gas_price,
                gas_limit,
                to,
                value,
                access_list,
                input,
            }),
            None => signer.sign(TxLegacy {
                chain_id: Some(chain_id),
                nonce,
                gas_price,
                gas_limit,
                to,
                value,
                input,
            }),
        }
    } else {
        let tip = match request.max_priority_fee_per_gas {
            Some(tip) => tip,
            None => fees::suggested_tip(&reader)?,
        };
        let max_fee = match request.max_fee_per_gas {
            Some(fee) => fee,
            // Saturates on a tip near 2^128 rather than wrap; the pool then refuses the cost.
            None => {
                (2 * u128::from(fees::next_block_base_fee(backend, &reader)?)).saturating_add(tip)
            }
        };
        signer.sign(TxEip1559 {
            chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: tip,
            to,
            value,
            access_list: request.access_list.unwrap_or_default(),
            input,
        })
    };
    drop(reader);
    submit_raw_transaction(backend, &tx.encoded_2718().into())
}
