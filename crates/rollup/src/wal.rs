//! The sequencer's write-ahead log: the open block's header fields and every transaction executed
//! into it, synced to disk before the transaction's preconfirmation is published. After a crash
//! the open block is rebuilt from it, in the same order, so every preconfirmed receipt holds.
//!
//! A sealed block is committed on another thread while the next one fills, so a new log starts
//! with the sealed block's records when it may not be committed yet: after a crash, each block
//! the log holds past the committed head is rebuilt, the last one left open.
//!
//! ```text
//! file   = record*
//! record = len (u32 BE) ++ checksum (first 4 bytes of keccak256(body)) ++ body
//! body   = 0x00 ++ rlp(OpenBlock)   a block; the transactions after it are its own
//!        | 0x01 ++ raw transaction  (EIP-2718 bytes)
//! ```
//! A torn or corrupt record ends the log: nothing after it was acknowledged.
use alloy_primitives::{Bytes, keccak256};
use alloy_rlp::{Decodable, RlpDecodable, RlpEncodable};
use std::{
    fs::{File, OpenOptions},
    io::{Read, Write},
    path::{Path, PathBuf},
};
use tandem_execution::l2::L1Origin;

/// What fixes an open block besides its transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, RlpEncodable, RlpDecodable)]
pub struct OpenBlock {
    pub number: u64,
    pub timestamp: u64,
    pub origin: L1Origin,
}

/// A block a log describes, as recovered after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    pub block: OpenBlock,
    pub transactions: Vec<Bytes>,
}

/// Most bytes one record may claim, so a corrupt length cannot make recovery allocate wildly.
const MAX_RECORD: usize = 8 * 1024 * 1024;

#[derive(Debug)]
pub struct Wal {
    path: PathBuf,
    file: File,
}

impl Wal {
    /// Opens the log at `path` and returns the blocks it holds, oldest first.
    pub fn open(path: &Path) -> std::io::Result<(Self, Vec<Recovered>)> {
        let recovered = match std::fs::read(path) {
            Ok(bytes) => parse(&bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)?;
        Ok((
            Self {
                path: path.to_owned(),
                file,
            },
            recovered,
        ))
    }

    /// Starts the log afresh for a new open block holding `transactions` already (those of a
    /// block reopened after a crash), after `sealed` (a sealed block and its transactions) when
    /// that one may not be committed yet. The old log stays whole until the new one is on disk.
    pub fn begin(
        &mut self,
        sealed: Option<(&OpenBlock, &[Bytes])>,
        block: &OpenBlock,
        transactions: &[Bytes],
    ) -> std::io::Result<()> {
        let tmp = self.path.with_extension("wal.tmp");
        {
            let mut buf = Vec::new();
            for (block, transactions) in sealed.into_iter().chain([(block, transactions)]) {
                buf.extend_from_slice(&record(0, &alloy_rlp::encode(block)));
                for raw in transactions {
                    buf.extend_from_slice(&record(1, raw));
                }
            }
            let mut file = File::create(&tmp)?;
            file.write_all(&buf)?;
            file.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            File::open(dir)?.sync_all()?;
        }
        self.file = OpenOptions::new()
            .append(true)
            .read(true)
            .open(&self.path)?;
        Ok(())
    }

    /// Appends transactions executed into the open block and syncs them to disk.
    pub fn append<'a>(&mut self, raws: impl IntoIterator<Item = &'a [u8]>) -> std::io::Result<()> {
        let mut buf = Vec::new();
        for raw in raws {
            buf.extend_from_slice(&record(1, raw));
        }
        if buf.is_empty() {
            return Ok(());
        }
        self.file.write_all(&buf)?;
        self.file.sync_data()
    }
}

fn record(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(payload.len() + 1);
    body.push(kind);
    body.extend_from_slice(payload);
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(&keccak256(&body)[..4]);
    out.extend_from_slice(&body);
    out
}

fn parse(mut bytes: &[u8]) -> Vec<Recovered> {
    let mut recovered: Vec<Recovered> = Vec::new();
    loop {
        let mut head = [0u8; 8];
        if bytes.read_exact(&mut head).is_err() {
            break;
        }
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if len == 0 || len > MAX_RECORD || bytes.len() < len {
            break;
        }
        let (body, rest) = bytes.split_at(len);
        if keccak256(body)[..4] != head[4..] {
            break;
        }
        bytes = rest;
        match (body[0], recovered.last_mut()) {
            (0, _) => {
                let Ok(block) = OpenBlock::decode(&mut &body[1..]) else {
                    break;
                };
                recovered.push(Recovered {
                    block,
                    transactions: Vec::new(),
                });
            }
            (1, Some(open)) => open.transactions.push(Bytes::copy_from_slice(&body[1..])),
            _ => break,
        }
    }
    recovered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(number: u64) -> OpenBlock {
        OpenBlock {
            number,
            timestamp: 7,
            origin: L1Origin {
                number: 3,
                ..Default::default()
            },
        }
    }

    #[test]
    fn recovers_the_open_block_and_its_transactions_and_stops_at_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sequencer.wal");
        let (mut wal, none) = Wal::open(&path).unwrap();
        assert!(none.is_empty());
        wal.begin(None, &block(1), &[]).unwrap();
        wal.append([&b"one"[..]]).unwrap();
        wal.begin(None, &block(2), &[]).unwrap();
        wal.append([&b"two"[..], &b"three"[..]]).unwrap();
        drop(wal);
        let (_, got) = Wal::open(&path).unwrap();
        assert_eq!(got.len(), 1, "a new block starts a new log");
        let got = got.into_iter().next().unwrap();
        assert_eq!(got.block, block(2));
        assert_eq!(
            got.transactions,
            vec![Bytes::from("two"), Bytes::from("three")]
        );

        // A torn last record (crash mid-write) and garbage are ignored.
        let mut bytes = std::fs::read(&path).unwrap();
        let whole = bytes.len();
        bytes.truncate(whole - 2);
        std::fs::write(&path, &bytes).unwrap();
        let (_, got) = Wal::open(&path).unwrap();
        assert_eq!(got[0].transactions, vec![Bytes::from("two")]);
        bytes.extend_from_slice(&[0xff; 40]);
        std::fs::write(&path, &bytes).unwrap();
        let (_, got) = Wal::open(&path).unwrap();
        assert_eq!(got[0].transactions, vec![Bytes::from("two")]);
    }

    #[test]
    fn a_new_log_keeps_the_sealed_block_before_the_open_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sequencer.wal");
        let (mut wal, _) = Wal::open(&path).unwrap();
        wal.begin(None, &block(1), &[]).unwrap();
        wal.append([&b"one"[..], &b"two"[..]]).unwrap();
        let sealed = [Bytes::from("one"), Bytes::from("two")];
        wal.begin(
            Some((&block(1), &sealed)),
            &block(2),
            &[Bytes::from("three")],
        )
        .unwrap();
        wal.append([&b"four"[..]]).unwrap();
        drop(wal);
        let (mut wal, got) = Wal::open(&path).unwrap();
        let blocks: Vec<_> = got
            .iter()
            .map(|r| (r.block, r.transactions.clone()))
            .collect();
        assert_eq!(
            blocks,
            vec![
                (block(1), sealed.to_vec()),
                (block(2), vec![Bytes::from("three"), Bytes::from("four")])
            ]
        );
        // Once the sealed block is committed, the next log holds the open block alone.
        wal.begin(None, &block(3), &[]).unwrap();
        drop(wal);
        let (_, got) = Wal::open(&path).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].block, block(3));
    }
}
