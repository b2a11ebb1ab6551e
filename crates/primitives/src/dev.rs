//! The standard dev accounts (anvil's and hardhat's) and a signing helper for dev tools and tests.
//!
//! These keys are public knowledge. They belong in dev modes and tests only.
use crate::TxEnvelope;
use alloy_consensus::SignableTransaction;
use alloy_primitives::{Address, B256, Signature, U256, keccak256};
use secp256k1::{Message, SECP256K1, SecretKey};
use std::sync::OnceLock;

/// The standard dev mnemonic; the keys below are its first ten accounts (m/44'/60'/0'/0/i).
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// The dev account registered as the L2 batcher in the dev genesis.
pub const DEV_BATCHER: usize = 9;

/// The dev account `tandem devnet` proposes L2 outputs with (L1 only).
pub const DEV_PROPOSER: usize = 8;

/// The dev account the devnet's challenger signs with.
pub const DEV_CHALLENGER: usize = 7;

/// Balance of each dev account at genesis, in ETH.
pub const DEV_BALANCE_ETH: u64 = 10_000;

const DEV_KEYS: [&str; 10] = [
    "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "dbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
];

/// A key pair that signs transactions.
#[derive(Clone)]
pub struct DevAccount {
    pub address: Address,
    key: SecretKey,
}

impl std::fmt::Debug for DevAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevAccount")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl DevAccount {
    /// A signer from a raw 32-byte secret key.
    pub fn from_secret(secret: B256) -> Option<Self> {
        let key = SecretKey::from_byte_array(secret.0).ok()?;
        let public = key.public_key(SECP256K1).serialize_uncompressed();
        let address = Address::from_slice(&keccak256(&public[1..])[12..]);
        Some(Self { address, key })
    }

    /// The secret key, for printing in dev mode only.
    pub fn secret_hex(&self) -> String {
        format!(
            "0x{}",
            alloy_primitives::hex::encode(self.key.secret_bytes())
        )
    }

    /// Signs a transaction hash.
    pub fn sign_hash(&self, hash: B256) -> Signature {
        let msg = Message::from_digest(hash.0);
        let (id, bytes) = SECP256K1
            .sign_ecdsa_recoverable(msg, &self.key)
            .serialize_compact();
        Signature::new(
            U256::from_be_slice(&bytes[..32]),
            U256::from_be_slice(&bytes[32..]),
            i32::from(id) != 0,
        )
    }

    /// Signs a transaction into its envelope.
    pub fn sign<T>(&self, tx: T) -> TxEnvelope
    where
        T: SignableTransaction<Signature>,
        TxEnvelope: From<alloy_consensus::Signed<T>>,
    {
        let signature = self.sign_hash(tx.signature_hash());
        tx.into_signed(signature).into()
    }
}

/// Why text given as a key is not one. The message never repeats the text: it may be a real key
/// with a typo.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not 32 bytes of hex")]
    NotHex,
    #[error("not a valid secp256k1 key")]
    NotAKey,
    #[error("dev account {0} does not exist: there are {DEV_ACCOUNTS}")]
    NoDevAccount(usize),
}

/// How many standard dev accounts there are.
pub const DEV_ACCOUNTS: usize = DEV_KEYS.len();

impl std::str::FromStr for DevAccount {
    type Err = KeyError;

    /// A signer from a hex secret key (with or without `0x`, surrounding space ignored).
    fn from_str(hex: &str) -> Result<Self, KeyError> {
        let secret: B256 = hex.trim().parse().map_err(|_| KeyError::NotHex)?;
        Self::from_secret(secret).ok_or(KeyError::NotAKey)
    }
}

/// Dev account `index` of the standard dev mnemonic.
pub fn account(index: usize) -> Result<DevAccount, KeyError> {
    accounts()
        .get(index)
        .cloned()
        .ok_or(KeyError::NoDevAccount(index))
}

/// The signer a command line names: a hex key if given, else dev account `index`, else dev account
/// `fallback`; `None` if it names none.
pub fn signer(
    hex: Option<&str>,
    index: Option<usize>,
    fallback: Option<usize>,
) -> Option<Result<DevAccount, KeyError>> {
    match (hex, index.or(fallback)) {
        (Some(hex), _) => Some(hex.parse()),
        (None, Some(index)) => Some(account(index)),
        (None, None) => None,
    }
}

/// The ten standard dev accounts.
pub fn accounts() -> &'static [DevAccount] {
    static ACCOUNTS: OnceLock<Vec<DevAccount>> = OnceLock::new();
    ACCOUNTS.get_or_init(|| {
        DEV_KEYS
            .iter()
            .map(|hex| {
                let secret: B256 = hex.parse().expect("dev keys are valid hex");
                DevAccount::from_secret(secret).expect("dev keys are valid secp256k1 keys")
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::{TxEip1559, transaction::SignerRecoverable};
    use alloy_primitives::{TxKind, address};

    #[test]
    fn dev_keys_give_the_standard_addresses() {
        let a = accounts();
        assert_eq!(
            a[0].address,
            address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        );
        assert_eq!(
            a[1].address,
            address!("70997970C51812dc3A010C7d01b50e0d17dc79C8")
        );
        assert_eq!(
            a[9].address,
            address!("a0Ee7A142d267C1f36714E4a8F75612F20a79720")
        );
    }

    #[test]
    fn signed_tx_recovers_its_sender() {
        let tx = TxEip1559 {
            chain_id: 900,
            nonce: 3,
            gas_limit: 21_000,
            max_fee_per_gas: 2,
            to: TxKind::Call(Address::ZERO),
            ..Default::default()
        };
        let signed = accounts()[2].sign(tx);
        assert_eq!(signed.recover_signer().unwrap(), accounts()[2].address);
        assert!(
            !format!("{:?}", accounts()[2]).contains("5de4111a"),
            "Debug must not print the key"
        );
    }

    #[test]
    fn keys_parse_from_hex_and_errors_never_repeat_the_text() {
        let key: DevAccount = format!(" 0x{} ", DEV_KEYS[3]).parse().unwrap();
        assert_eq!(key.address, accounts()[3].address);
        let typo = format!("{}x", &DEV_KEYS[3][..63]);
        for (text, error) in [
            (typo.as_str(), KeyError::NotHex),
            ("00", KeyError::NotHex),
            (&"0".repeat(64), KeyError::NotAKey),
        ] {
            let refused = text.parse::<DevAccount>().unwrap_err();
            assert_eq!(refused, error);
            assert!(!refused.to_string().contains(&DEV_KEYS[3][..8]));
        }
        assert_eq!(
            account(DEV_ACCOUNTS).unwrap_err(),
            KeyError::NoDevAccount(10)
        );
        assert_eq!(account(9).unwrap().address, accounts()[9].address);
    }

    #[test]
    fn a_signer_is_the_key_else_the_index_else_the_fallback() {
        let hex = accounts()[4].secret_hex();
        let of = |hex, index, fallback| signer(hex, index, fallback).map(|k| k.map(|k| k.address));
        let address = |i: usize| Some(Ok(accounts()[i].address));
        assert_eq!(of(Some(hex.as_str()), Some(1), Some(0)), address(4));
        assert_eq!(of(None, Some(2), Some(0)), address(2));
        assert_eq!(of(None, None, Some(9)), address(9));
        assert_eq!(of(None, None, None), None);
        assert_eq!(
            of(None, Some(10), None),
            Some(Err(KeyError::NoDevAccount(10)))
        );
    }
}
