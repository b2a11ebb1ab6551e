//! `eth_getLogs` and polled filters (`eth_newFilter`, `eth_newBlockFilter`, `eth_getFilterChanges`).
use crate::{
    Backend, RpcError,
    blocks::{latest, resolve_number},
    convert,
    error::Result,
};
use alloy_eips::BlockNumberOrTag;
use alloy_primitives::U256;
use alloy_rpc_types_eth::{Filter, FilterBlockOption, Log};
use std::{
    collections::HashMap,
    time::{Duration, Instant},
};
use tandem_storage::Reader;

/// A filter nobody polled for this long is dropped, as geth does.
const FILTER_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Logs(Box<Filter>),
    Blocks,
}

#[derive(Debug)]
struct Installed {
    kind: Kind,
    /// The first block the next poll reports.
    next_block: u64,
    last_poll: Instant,
}

/// The installed filters of the node.
#[derive(Debug, Default)]
pub(crate) struct Filters {
    next_id: u64,
    installed: HashMap<u64, Installed>,
}

impl Filters {
    pub(crate) fn remove(&mut self, id: u64) -> bool {
        self.installed.remove(&id).is_some()
    }

    fn expire(&mut self, now: Instant) {
        self.installed
            .retain(|_, f| now.duration_since(f.last_poll) < FILTER_IDLE_TIMEOUT);
    }
}

fn not_found() -> RpcError {
    RpcError::server("filter not found")
}

pub(crate) fn install(backend: &Backend, kind: Kind) -> Result<U256> {
    let reader = backend.storage.read()?;
    let next_block = latest(&reader)? + 1;
    let mut filters = backend.filters.lock();
    let now = Instant::now();
    filters.expire(now);
    if filters.installed.len() >= backend.limits.max_filters {
        return Err(RpcError::limit(format!(
            "too many filters installed (limit {})",
            backend.limits.max_filters
        )));
    }
    filters.next_id += 1;
    let id = filters.next_id;
    filters.installed.insert(
        id,
        Installed {
            kind,
            next_block,
            last_poll: now,
        },
    );
    Ok(U256::from(id))
}

/// What happened since the last poll: new block hashes or new matching logs.
pub(crate) fn changes(backend: &Backend, id: u64) -> Result<serde_json::Value> {
    let reader = backend.storage.read()?;
    let head = latest(&reader)?;
    let (kind, from) = {
        let mut filters = backend.filters.lock();
        let f = filters.installed.get_mut(&id).ok_or_else(not_found)?;
        // A dev chain reverted to a snapshot is shorter than the filter has seen: it reports the
        // blocks mined again from there.
        let from = f.next_block.min(head + 1);
        f.next_block = head + 1;
        f.last_poll = Instant::now();
        (f.kind.clone(), from)
    };
    let value = match kind {
        Kind::Blocks => {
            let hashes = (from..=head)
                .map(|n| Ok(reader.header(n)?.map(|h| h.hash_slow())))
                .collect::<Result<Vec<_>>>()?;
            serde_json::to_value(hashes.into_iter().flatten().collect::<Vec<_>>())
        }
        Kind::Logs(filter) => {
            let to = filter.get_to_block().map_or(head, |t| t.min(head));
            let from = filter.get_from_block().map_or(from, |f| f.max(from));
            serde_json::to_value(logs_in_range(backend, &reader, &filter, from, to)?)
        }
    };
    value.map_err(RpcError::internal)
}

/// Every log an installed log filter matches.
pub(crate) fn all_logs(backend: &Backend, id: u64) -> Result<Vec<Log>> {
    let kind = {
        let mut filters = backend.filters.lock();
        let f = filters.installed.get_mut(&id).ok_or_else(not_found)?;
        f.last_poll = Instant::now();
        f.kind.clone()
    };
    match kind {
        Kind::Logs(filter) => logs(backend, &backend.storage.read()?, &filter),
        Kind::Blocks => Err(not_found()),
    }
}

/// `eth_getLogs`: the logs a filter matches, bounded in block range and count.
pub(crate) fn logs(backend: &Backend, reader: &Reader, filter: &Filter) -> Result<Vec<Log>> {
    let (from, to) = match filter.block_option {
        FilterBlockOption::AtBlockHash(hash) => {
            let number = reader
                .number_of(hash)?
                .ok_or_else(|| RpcError::server("unknown block"))?;
            (number, number)
        }
        FilterBlockOption::Range {
            from_block,
            to_block,
        } => {
            let head = latest(reader)?;
            let resolve = |tag: Option<BlockNumberOrTag>| -> Result<u64> {
                Ok(resolve_number(reader, tag.unwrap_or_default())?.unwrap_or(head + 1))
            };
            let (from, to) = (resolve(from_block)?, resolve(to_block)?.min(head));
            if from > to && from <= head {
                return Err(RpcError::invalid_params("invalid block range params"));
            }
            (from, to)
        }
    };
    logs_in_range(backend, reader, filter, from, to)
}

fn logs_in_range(
    backend: &Backend,
    reader: &Reader,
    filter: &Filter,
    from: u64,
    to: u64,
) -> Result<Vec<Log>> {
    if from > to {
        return Ok(Vec::new());
    }
    let limits = &backend.limits;
    if to - from >= limits.max_log_range {
        return Err(RpcError::limit(format!(
            "exceed maximum block range: {}",
            limits.max_log_range
        )));
    }
    let mut out = Vec::new();
    for number in from..=to {
        let Some(block) = reader.block(number)? else {
            break;
        };
        if !filter.matches_bloom(block.header().logs_bloom) {
            continue;
        }
        let receipts = reader.receipts(number)?.unwrap_or_default();
        for log in convert::logs(&block, &receipts) {
            if filter.matches(&log.inner) {
                if out.len() >= limits.max_logs {
                    return Err(RpcError::limit(format!(
                        "query returned more than {} results",
                        limits.max_logs
                    )));
                }
                out.push(log);
            }
        }
    }
    Ok(out)
}
