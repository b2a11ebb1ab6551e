//! Validator identities: ed25519 keys, as hex for config files.
use commonware_codec::{Encode, ReadExt};
use commonware_cryptography::{Signer as _, ed25519};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("invalid {what}: expected 32 bytes of hex")]
    Invalid { what: &'static str },
}

fn decode_hex(what: &'static str, hex: &str) -> Result<[u8; 32], KeyError> {
    let bytes =
        alloy_primitives::hex::decode(hex.trim()).map_err(|_| KeyError::Invalid { what })?;
    bytes.try_into().map_err(|_| KeyError::Invalid { what })
}

/// A validator's signing key. Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct ValidatorKey(pub(crate) ed25519::PrivateKey);

impl std::fmt::Debug for ValidatorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ValidatorKey").field(&self.public()).finish()
    }
}

impl ValidatorKey {
    /// A key derived from a small seed: for devnets and tests only.
    pub fn from_seed(seed: u64) -> Self {
        Self(ed25519::PrivateKey::from_seed(seed))
    }

    /// A key from 32 secret bytes (e.g. from the operating system's randomness).
    pub fn from_bytes(secret: [u8; 32]) -> Self {
        Self(
            ed25519::PrivateKey::read(&mut bytes::Bytes::copy_from_slice(&secret))
                .expect("any 32 bytes are an ed25519 secret"),
        )
    }

    pub fn from_hex(hex: &str) -> Result<Self, KeyError> {
        Ok(Self::from_bytes(decode_hex("validator key", hex)?))
    }

    /// The secret as hex, for the key file.
    pub fn to_hex(&self) -> String {
        alloy_primitives::hex::encode(self.0.encode())
    }

    pub fn public(&self) -> PeerId {
        PeerId(self.0.public_key())
    }
}

/// A validator's public identity.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerId(pub(crate) ed25519::PublicKey);

impl std::fmt::Debug for PeerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

impl std::fmt::Display for PeerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.to_hex())
    }
}

impl PeerId {
    pub fn from_hex(hex: &str) -> Result<Self, KeyError> {
        let bytes = decode_hex("validator public key", hex)?;
        ed25519::PublicKey::read(&mut bytes::Bytes::copy_from_slice(&bytes))
            .map(Self)
            .map_err(|_| KeyError::Invalid {
                what: "validator public key",
            })
    }

    pub fn to_hex(&self) -> String {
        alloy_primitives::hex::encode(self.0.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_hex_and_debug_hides_the_secret() {
        let key = ValidatorKey::from_seed(7);
        let again = ValidatorKey::from_hex(&key.to_hex()).unwrap();
        assert_eq!(key.public(), again.public());
        assert_eq!(
            PeerId::from_hex(&key.public().to_hex()).unwrap(),
            key.public()
        );
        assert!(!format!("{key:?}").contains(&key.to_hex()));
        assert!(ValidatorKey::from_hex("zz").is_err());
    }
}
