use jsonrpsee::types::ErrorObjectOwned;

/// geth's error codes.
pub(crate) const SERVER_ERROR: i32 = -32000;
pub(crate) const INVALID_PARAMS: i32 = -32602;
pub(crate) const INTERNAL_ERROR: i32 = -32603;
pub(crate) const REVERTED: i32 = 3;
pub(crate) const LIMIT_EXCEEDED: i32 = -32005;

/// An error answer: a JSON-RPC code, a message and optional data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RpcError {
    pub code: i32,
    pub message: String,
    pub data: Option<String>,
}

impl RpcError {
    pub fn server(message: impl ToString) -> Self {
        Self {
            code: SERVER_ERROR,
            message: message.to_string(),
            data: None,
        }
    }

    pub(crate) fn invalid_params(message: impl ToString) -> Self {
        Self {
            code: INVALID_PARAMS,
            message: message.to_string(),
            data: None,
        }
    }

    pub(crate) fn internal(message: impl ToString) -> Self {
        tracing::warn!(target: "rpc", error = %message.to_string(), "internal error");
        Self {
            code: INTERNAL_ERROR,
            message: message.to_string(),
            data: None,
        }
    }

    pub fn limit(message: impl ToString) -> Self {
        Self {
            code: LIMIT_EXCEEDED,
            message: message.to_string(),
            data: None,
        }
    }

    /// A revert: code 3, "execution reverted[: reason]", the revert data as hex.
    pub(crate) fn reverted(output: &alloy_primitives::Bytes) -> Self {
        use alloy_sol_types::{Panic, Revert, SolError};
        let reason = Revert::abi_decode(output)
            .map(|r| r.reason().to_string())
            .or_else(|_| Panic::abi_decode(output).map(|p| p.to_string()))
            .ok();
        let message = match reason {
            Some(reason) => format!("execution reverted: {reason}"),
            None => "execution reverted".to_string(),
        };
        Self {
            code: REVERTED,
            message,
            data: Some(output.to_string()),
        }
    }
}

impl From<RpcError> for ErrorObjectOwned {
    fn from(e: RpcError) -> Self {
        ErrorObjectOwned::owned(e.code, e.message, e.data)
    }
}

macro_rules! internal {
    ($($t:ty),*) => {$(impl From<$t> for RpcError { fn from(e: $t) -> Self { Self::internal(e) } })*};
}
internal!(tandem_storage::Error, tandem_state::Error);

impl From<tandem_mempool::Error> for RpcError {
    fn from(e: tandem_mempool::Error) -> Self {
        match e {
            tandem_mempool::Error::Decode(_) => Self::invalid_params(e),
            e => Self::server(e),
        }
    }
}

pub(crate) type Result<T, E = RpcError> = std::result::Result<T, E>;
