//! What a header commits to about its block's body, and the check that a body keeps to it.
//!
//! A tandem block's body is its transactions alone: no ommers, no withdrawals, no blob
//! transactions, no block access list. The header commits to each of these, so a header names
//! exactly one body. The block builder (`tandem_execution::Executor`) computes the transactions
//! root with the same alloy function as [`transactions_root`].
use crate::TxEnvelope;
use alloy_consensus::{EMPTY_OMMER_ROOT_HASH, EMPTY_ROOT_HASH, Header, proofs};
use alloy_primitives::B256;

/// A header that does not commit to the body it came with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("transactions root {header} in the header, {body} for the body")]
    TransactionsRoot { header: B256, body: B256 },
    #[error("ommers hash {0} is not the hash of an empty list")]
    Ommers(B256),
    #[error("withdrawals root {0} is not the root of an empty list")]
    Withdrawals(B256),
    #[error("blob gas used {0}, but a body carries no blob transactions")]
    BlobGas(u64),
    #[error("block access list hash {0}, but a body carries no block access list")]
    BlockAccessList(B256),
}

/// The root the header's `transactionsRoot` must have for `txs`: the ordered trie of their
/// EIP-2718 encodings.
pub fn transactions_root(txs: &[TxEnvelope]) -> B256 {
    proofs::calculate_transaction_root(txs)
}

/// Checks the header's commitments that need no transactions: an empty ommers list, no
/// withdrawals (an empty list's root, if the header has the field), no blob gas, no block
/// access list. Cheap: run it before decoding or hashing the transactions.
pub fn check_empty_commitments(header: &Header) -> Result<(), BodyError> {
    if header.ommers_hash != EMPTY_OMMER_ROOT_HASH {
        return Err(BodyError::Ommers(header.ommers_hash));
    }
    if let Some(root) = header.withdrawals_root
        && root != EMPTY_ROOT_HASH
    {
        return Err(BodyError::Withdrawals(root));
    }
    if let Some(used) = header.blob_gas_used
        && used != 0
    {
        return Err(BodyError::BlobGas(used));
    }
    if let Some(hash) = header.block_access_list_hash {
        return Err(BodyError::BlockAccessList(hash));
    }
    Ok(())
}

/// Checks every commitment `header` makes to a body of `txs`.
pub fn check_body(header: &Header, txs: &[TxEnvelope]) -> Result<(), BodyError> {
    check_empty_commitments(header)?;
    let body = transactions_root(txs);
    if body != header.transactions_root {
        return Err(BodyError::TransactionsRoot {
            header: header.transactions_root,
            body,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_header() -> Header {
        Header {
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            transactions_root: EMPTY_ROOT_HASH,
            withdrawals_root: Some(EMPTY_ROOT_HASH),
            blob_gas_used: Some(0),
            ..Default::default()
        }
    }

    #[test]
    fn an_empty_body_matches_a_header_committing_to_nothing() {
        assert_eq!(check_body(&empty_header(), &[]), Ok(()));
        let pre_shanghai = Header {
            withdrawals_root: None,
            blob_gas_used: None,
            ..empty_header()
        };
        assert_eq!(check_body(&pre_shanghai, &[]), Ok(()));
    }

    #[test]
    fn each_commitment_to_something_not_in_the_body_is_refused() {
        let x = B256::repeat_byte(7);
        let cases = [
            (
                Header {
                    transactions_root: x,
                    ..empty_header()
                },
                BodyError::TransactionsRoot {
                    header: x,
                    body: EMPTY_ROOT_HASH,
                },
            ),
            (
                Header {
                    ommers_hash: x,
                    ..empty_header()
                },
                BodyError::Ommers(x),
            ),
            (
                Header {
                    withdrawals_root: Some(x),
                    ..empty_header()
                },
                BodyError::Withdrawals(x),
            ),
            (
                Header {
                    blob_gas_used: Some(1),
                    ..empty_header()
                },
                BodyError::BlobGas(1),
            ),
            (
                Header {
                    block_access_list_hash: Some(x),
                    ..empty_header()
                },
                BodyError::BlockAccessList(x),
            ),
        ];
        for (header, error) in cases {
            assert_eq!(check_body(&header, &[]), Err(error));
        }
    }
}
