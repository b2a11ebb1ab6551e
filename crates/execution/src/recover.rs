use alloy_primitives::Address;
use rayon::prelude::*;
use tandem_primitives::TxEnvelope;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecoveryError {
    /// geth's message for a signature that recovers no key.
    #[error("invalid sender")]
    InvalidSender,
    /// Deposits come only from L1 through derivation; they have no signature.
    #[error("transaction type not supported")]
    Unsupported,
}

/// Recovers the sender of one transaction with libsecp256k1. Rejects high-s signatures (EIP-2).
pub fn recover_sender(tx: &TxEnvelope) -> Result<Address, RecoveryError> {
    let signature = tx.signature().ok_or(RecoveryError::Unsupported)?;
    if signature.normalize_s().is_some() {
        return Err(RecoveryError::InvalidSender);
    }
    // The inherent `recover_signer` of `Signed` goes to libsecp256k1 (alloy-primitives/secp256k1).
    let recovered = match tx {
        TxEnvelope::Legacy(t) => t.recover_signer(),
        TxEnvelope::Eip2930(t) => t.recover_signer(),
        TxEnvelope::Eip1559(t) => t.recover_signer(),
        TxEnvelope::Eip7702(t) => t.recover_signer(),
        TxEnvelope::Deposit(_) | TxEnvelope::PostExec(_) => return Err(RecoveryError::Unsupported),
    };
    recovered.map_err(|_| RecoveryError::InvalidSender)
}

/// Recovers the senders of many transactions in parallel, across every core.
pub fn recover_senders(txs: &[TxEnvelope]) -> Vec<Result<Address, RecoveryError>> {
    txs.par_iter()
        .with_min_len(16)
        .map(recover_sender)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::TxLegacy;
    use alloy_primitives::{TxKind, U256};
    use tandem_primitives::dev;

    #[test]
    fn parallel_recovery_matches_signers_and_rejects_high_s() {
        let txs: Vec<TxEnvelope> = (0..100)
            .map(|i| {
                let tx = TxLegacy {
                    chain_id: Some(900),
                    nonce: i,
                    gas_limit: 21_000,
                    gas_price: 1,
                    to: TxKind::Call(Address::ZERO),
                    ..Default::default()
                };
                dev::accounts()[(i % 10) as usize].sign(tx)
            })
            .collect();
        for (i, sender) in recover_senders(&txs).into_iter().enumerate() {
            assert_eq!(sender.unwrap(), dev::accounts()[i % 10].address);
        }
        let TxEnvelope::Legacy(signed) = &txs[0] else {
            unreachable!()
        };
        let sig = signed.signature();
        let n = U256::from_str_radix(
            "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
            16,
        )
        .unwrap();
        let high = alloy_primitives::Signature::new(sig.r(), n - sig.s(), !sig.v());
        let forged = TxEnvelope::Legacy(alloy_consensus::Signed::new_unchecked(
            signed.tx().clone(),
            high,
            signed.hash().to_owned(),
        ));
        assert_eq!(recover_sender(&forged), Err(RecoveryError::InvalidSender));
    }
}
