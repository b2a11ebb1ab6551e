//! Byzantine peers for the seeded simulations.
//!
//! - [`Tamper`] alters the body of every block a peer sends or serves, under the same context and
//!   header: other transactions, one more, one less, reordered, more than the gas limit allows, or
//!   more bytes than a node accepts. [`Altering`] applies it to what a real node sends (broadcast
//!   and backfill responses), and [`Echo`] sends an altered copy of every block the node receives,
//!   so the copies race the honest ones.
//! - [`spawn_junk`] sends random bytes, and mangled copies of what the peer hears, on a channel.
//!
//! Everything draws from the deterministic runtime, so a seed replays the same attack.
use alloy_consensus::{SignableTransaction, TxEip1559};
use alloy_primitives::{Address, Bytes as AlloyBytes, Signature, TxKind, U256};
use bytes::{BufMut, Bytes};
use commonware_actor::{Feedback, Unreliable};
use commonware_codec::{Copying, Decode as _, RangeCfg, Read, ReadExt, Write};
use commonware_consensus::simplex::types::{Finalization, Notarization};
use commonware_cryptography::certificate::Verifier as _;
use commonware_p2p::{CheckedSender, LimitedSender, Message, Receiver, Recipients};
use commonware_runtime::{Clock, IoBufs, Spawner as _, Supervisor as _, deterministic};
use parking_lot::Mutex;
use rand_core::Rng as _;
use std::{
    num::NonZeroUsize,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, SystemTime},
};
use tandem_consensus::{Block, BlockLimits, ConsensusContext, Digest, Scheme};
use tandem_primitives::{TxEnvelope, dev, genesis};

/// A body section larger than a node accepts (8 MiB), and smaller than a simulated p2p message.
const OVERSIZED_BODY_BYTES: usize = 8 * 1024 * 1024 + 1024;
/// The dev account that signs the transactions an adversary slips into bodies (the simulations'
/// transfers come from accounts 0 to 4).
const SPARE_ACCOUNT: usize = 8;

/// How an adversary changes a block's body, keeping its context and header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BodyAttack {
    /// As many other transactions, validly signed.
    Swap,
    /// One validly signed transaction more.
    Extra,
    /// The last transaction left out (one added to an empty block).
    Missing,
    /// The transactions in reverse order (one added to a block of fewer than two).
    Reorder,
    /// More transactions than the gas limit allows (21,000 gas each), none validly signed.
    TooMany,
    /// A body larger than a node decodes.
    Oversized,
}

const ATTACKS: [BodyAttack; 6] = [
    BodyAttack::Swap,
    BodyAttack::Extra,
    BodyAttack::Missing,
    BodyAttack::Reorder,
    BodyAttack::TooMany,
    BodyAttack::Oversized,
];

/// Alters block bodies, one attack after the other, and counts what it altered.
#[derive(Debug)]
pub(crate) struct Tamper {
    /// What honest nodes decode under (the dev chain's).
    limits: BlockLimits,
    next: AtomicUsize,
    /// Altered blocks sent on broadcast (own and echoed).
    pub(crate) sent: AtomicU64,
    /// Altered blocks served in answer to a backfill request.
    pub(crate) served: AtomicU64,
    too_many: OnceLock<Vec<u8>>,
    oversized: OnceLock<Vec<u8>>,
}

impl Tamper {
    pub(crate) fn new() -> Self {
        let config = genesis::chain_config(&tandem_execution::dev_genesis(900));
        Self {
            limits: BlockLimits::new(&config),
            next: AtomicUsize::default(),
            sent: AtomicU64::default(),
            served: AtomicU64::default(),
            too_many: OnceLock::new(),
            oversized: OnceLock::new(),
        }
    }

    fn attack(&self) -> BodyAttack {
        ATTACKS[self.next.fetch_add(1, Ordering::Relaxed) % ATTACKS.len()]
    }

    /// A validly signed transfer from the spare account.
    fn spare(nonce: u64) -> TxEnvelope {
        dev::accounts()[SPARE_ACCOUNT].sign(transfer(nonce, AlloyBytes::new()))
    }

    /// The encoded body of `attack` in place of `txs`.
    fn body(&self, txs: Vec<TxEnvelope>, attack: BodyAttack) -> Vec<u8> {
        let n = txs.len();
        let list = match attack {
            BodyAttack::Swap => (0..n.max(1) as u64).map(Self::spare).collect(),
            BodyAttack::Extra => [txs, vec![Self::spare(0)]].concat(),
            BodyAttack::Missing if n > 0 => txs[..n - 1].to_vec(),
            BodyAttack::Reorder if n > 1 => txs.into_iter().rev().collect(),
            BodyAttack::Missing | BodyAttack::Reorder => [txs, vec![Self::spare(1)]].concat(),
            BodyAttack::TooMany => {
                return self
                    .too_many
                    .get_or_init(|| {
                        let count = self.limits.gas_limit / self.limits.min_tx_gas + 1;
                        alloy_rlp::encode((0..count).map(unsigned).collect::<Vec<_>>())
                    })
                    .clone();
            }
            BodyAttack::Oversized => {
                return self
                    .oversized
                    .get_or_init(|| {
                        let data = AlloyBytes::from(vec![0u8; OVERSIZED_BODY_BYTES]);
                        alloy_rlp::encode(vec![unsigned_with(0, data)])
                    })
                    .clone();
            }
        };
        alloy_rlp::encode(list)
    }

    /// `bytes` (a block's encoding) with the next attack's body, or `None` if it is no block.
    pub(crate) fn alter_block(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let (head, txs) = split_block(bytes)?;
        let txs: Vec<TxEnvelope> = alloy_rlp::Decodable::decode(&mut &txs[..]).ok()?;
        let body = self.body(txs, self.attack());
        let mut out = Vec::with_capacity(head.len() + 4 + body.len());
        out.extend_from_slice(head);
        out.put_u32(body.len() as u32);
        out.extend_from_slice(&body);
        Some(out)
    }

    /// A resolver response (request id, tag 1, length-prefixed value) whose value carries a block,
    /// alone or behind a finalization or notarization, with that block's body altered.
    pub(crate) fn alter_response(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        if bytes.len() < 9 || bytes[8] != 1 {
            return None;
        }
        let mut rest = Copying(&bytes[9..]);
        let value = Bytes::read_cfg(&mut rest, &RangeCfg::from(..)).ok()?;
        if !rest.0.is_empty() {
            return None;
        }
        let offset = block_offset(&value)?;
        let block = self.alter_block(&value[offset..])?;
        let mut altered = value[..offset].to_vec();
        altered.extend_from_slice(&block);
        let mut out = bytes[..9].to_vec();
        Bytes::from(altered).write(&mut out);
        Some(out)
    }
}

/// Splits a block's encoding into its context and header (as encoded) and its transaction list.
fn split_block(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut context = Copying(bytes);
    ConsensusContext::read(&mut context).ok()?;
    let mut buf = context.0;
    let context = bytes.len() - buf.len();
    let header = section(&mut buf)?;
    let txs = section(&mut buf)?;
    buf.is_empty()
        .then(|| (&bytes[..context + 4 + header.len()], txs))
}

fn section<'a>(buf: &mut &'a [u8]) -> Option<&'a [u8]> {
    let len = u32::from_be_bytes(buf.get(..4)?.try_into().ok()?) as usize;
    let out = buf.get(4..4 + len)?;
    *buf = &buf[4 + len..];
    Some(out)
}

/// Where the block starts in a backfill response's value: at once, or after a certificate.
fn block_offset(value: &[u8]) -> Option<usize> {
    if split_block(value).is_some() {
        return Some(0);
    }
    let cfg = Scheme::certificate_codec_config_unbounded();
    let mut buf = Copying(value);
    if Finalization::<Scheme, Digest>::read_cfg(&mut buf, &cfg).is_ok()
        && split_block(buf.0).is_some()
    {
        return Some(value.len() - buf.0.len());
    }
    let mut buf = Copying(value);
    if Notarization::<Scheme, Digest>::read_cfg(&mut buf, &cfg).is_ok()
        && split_block(buf.0).is_some()
    {
        return Some(value.len() - buf.0.len());
    }
    None
}

fn transfer(nonce: u64, input: AlloyBytes) -> TxEip1559 {
    TxEip1559 {
        chain_id: 900,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 100_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(Address::with_last_byte(0xee)),
        value: U256::from(1),
        input,
        ..Default::default()
    }
}

/// A transaction whose signature recovers no key (r = 0); only recovering it can tell.
fn unsigned(nonce: u64) -> TxEnvelope {
    unsigned_with(nonce, AlloyBytes::new())
}

fn unsigned_with(nonce: u64, input: AlloyBytes) -> TxEnvelope {
    let tx = transfer(nonce, input);
    TxEnvelope::Eip1559(tx.into_signed(Signature::new(U256::ZERO, U256::from(1), false)))
}

/// What an [`Altering`] sender does to each message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Alter {
    /// Sends it as it is.
    Nothing,
    /// The message is a block: alters its body.
    Blocks,
    /// The message is a resolver message: alters the body of a block it answers with.
    Responses,
}

/// A sender that alters blocks before they leave.
#[derive(Clone, Debug)]
pub(crate) struct Altering<S> {
    inner: S,
    alter: Alter,
    tamper: Arc<Tamper>,
}

impl<S> Altering<S> {
    pub(crate) fn new(inner: S, alter: Alter, tamper: Arc<Tamper>) -> Self {
        Self {
            inner,
            alter,
            tamper,
        }
    }
}

impl<S: LimitedSender> LimitedSender for Altering<S> {
    type PublicKey = S::PublicKey;
    type Checked<'a>
        = AlteringChecked<S::Checked<'a>>
    where
        Self: 'a;

    fn check(
        &mut self,
        recipients: Recipients<Self::PublicKey>,
    ) -> Result<Self::Checked<'_>, SystemTime> {
        Ok(AlteringChecked {
            inner: self.inner.check(recipients)?,
            alter: self.alter,
            tamper: self.tamper.clone(),
        })
    }
}

pub(crate) struct AlteringChecked<C> {
    inner: C,
    alter: Alter,
    tamper: Arc<Tamper>,
}

impl<C: CheckedSender> CheckedSender for AlteringChecked<C> {
    type PublicKey = C::PublicKey;

    fn recipients(&self) -> Vec<Self::PublicKey> {
        self.inner.recipients()
    }

    fn send(self, message: impl Into<IoBufs> + Send, priority: bool) -> Unreliable<Feedback> {
        let message = message.into().coalesce();
        let altered = match self.alter {
            Alter::Nothing => None,
            Alter::Blocks => self.tamper.alter_block(message.as_ref()).inspect(|_| {
                self.tamper.sent.fetch_add(1, Ordering::Relaxed);
            }),
            Alter::Responses => self.tamper.alter_response(message.as_ref()).inspect(|_| {
                self.tamper.served.fetch_add(1, Ordering::Relaxed);
            }),
        };
        match altered {
            Some(altered) => self.inner.send(altered, priority),
            None => self.inner.send(message, priority),
        }
    }
}

/// A receiver that, when it echoes, sends every peer an altered copy of each block it receives.
#[derive(Debug)]
pub(crate) struct Echo<R, S> {
    inner: R,
    echo: Option<(S, Arc<Tamper>)>,
}

impl<R, S> Echo<R, S> {
    pub(crate) fn pass(inner: R) -> Self {
        Self { inner, echo: None }
    }

    pub(crate) fn blocks(inner: R, sender: S, tamper: Arc<Tamper>) -> Self {
        Self {
            inner,
            echo: Some((sender, tamper)),
        }
    }
}

impl<R, S> Receiver for Echo<R, S>
where
    R: Receiver,
    S: commonware_p2p::Sender<PublicKey = R::PublicKey> + std::fmt::Debug,
{
    type Error = R::Error;
    type PublicKey = R::PublicKey;

    async fn recv(&mut self) -> Result<Message<Self::PublicKey>, Self::Error> {
        let (peer, message) = self.inner.recv().await?;
        // Only honest blocks (those that decode) are echoed: adversaries do not echo each other.
        if let Some((sender, tamper)) = &mut self.echo
            && Block::decode_cfg(message.as_ref().to_vec(), &tamper.limits).is_ok()
            && let Some(altered) = tamper.alter_block(message.as_ref())
        {
            tamper.sent.fetch_add(1, Ordering::Relaxed);
            sender.send(Recipients::All, altered, false);
        }
        Ok((peer, message))
    }

    fn capacity(&self) -> NonZeroUsize {
        self.inner.capacity()
    }
}

/// How often a junk peer sends on each channel.
const JUNK_INTERVAL: Duration = Duration::from_millis(25);

/// Sends junk to every peer on one channel every [`JUNK_INTERVAL`]: random bytes, or a mangled
/// copy of the last message heard on the channel (bytes flipped, cut, extended, or a length
/// overwritten). Counts what it sent in `sent`.
pub(crate) fn spawn_junk<S, R>(
    context: &deterministic::Context,
    channel: u64,
    mut sender: S,
    mut receiver: R,
    sent: Arc<AtomicU64>,
) where
    S: commonware_p2p::Sender,
    R: Receiver,
{
    let heard: Arc<Mutex<Vec<u8>>> = Arc::default();
    let last = heard.clone();
    context
        .child("junk_listen")
        .with_attribute("channel", channel)
        .spawn(move |_| async move {
            while let Ok((_, message)) = receiver.recv().await {
                *last.lock() = message.as_ref().to_vec();
            }
        });
    context
        .child("junk_send")
        .with_attribute("channel", channel)
        .spawn(move |mut context| async move {
            loop {
                context.sleep(JUNK_INTERVAL).await;
                let junk = mangle(&mut context, heard.lock().clone());
                sender.send(Recipients::All, junk, false);
                sent.fetch_add(1, Ordering::Relaxed);
            }
        });
}

/// Junk drawn from `rng`, often a near miss of `heard`.
fn mangle(rng: &mut deterministic::Context, mut heard: Vec<u8>) -> Vec<u8> {
    let below =
        |rng: &mut deterministic::Context, n: usize| (rng.next_u64() % n.max(1) as u64) as usize;
    match rng.next_u32() % 6 {
        0 => {
            let mut junk = vec![0u8; below(rng, 4096)];
            rng.fill_bytes(&mut junk);
            junk
        }
        1 if !heard.is_empty() => {
            for _ in 0..1 + below(rng, 8) {
                let i = below(rng, heard.len());
                heard[i] ^= 1 << below(rng, 8);
            }
            heard
        }
        2 if !heard.is_empty() => {
            heard.truncate(below(rng, heard.len()));
            heard
        }
        3 => {
            let mut tail = vec![0u8; 1 + below(rng, 64)];
            rng.fill_bytes(&mut tail);
            heard.extend_from_slice(&tail);
            heard
        }
        4 if heard.len() >= 4 => {
            // A length prefix (or anything) overwritten with a large or off-by-some value.
            let i = below(rng, heard.len() - 3);
            let value = match rng.next_u32() % 3 {
                0 => u32::MAX,
                1 => heard.len() as u32 + 1,
                _ => rng.next_u32(),
            };
            heard[i..i + 4].copy_from_slice(&value.to_be_bytes());
            heard
        }
        _ => Vec::new(),
    }
}
