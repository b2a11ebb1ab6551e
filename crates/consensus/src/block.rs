//! The consensus block: one Ethereum execution block and the simplex context it was proposed in.
use alloy_rlp::{Decodable, Encodable};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, Read, ReadExt, Write};
use commonware_consensus::{
    Heightable,
    simplex::types::Context,
    types::{Epoch, Height, Round, View},
};
use commonware_cryptography::{Digestible, Hasher, Sha256, ed25519::PublicKey};
use tandem_execution::recover_senders;
use tandem_primitives::{Block as EthBlock, Header, SealedBlock, StoredTx, TxEnvelope};

/// Digest of a consensus block.
pub type Digest = commonware_cryptography::sha256::Digest;
/// The context simplex proposes a block in: round, leader and parent.
pub type ConsensusContext = Context<Digest, PublicKey>;

/// Largest encoded header or transaction list accepted from a peer, in bytes.
pub(crate) const MAX_SECTION_BYTES: usize = 8 * 1024 * 1024;

/// A consensus block. Its digest commits to the simplex context and to the Ethereum block hash,
/// which commits to the header and through it to the transactions and the post-state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub context: ConsensusContext,
    pub eth: SealedBlock,
    digest: Digest,
}

impl Block {
    pub fn new(context: ConsensusContext, eth: SealedBlock) -> Self {
        let digest = compute_digest(&context, &eth);
        Self {
            context,
            eth,
            digest,
        }
    }

    /// The genesis block: the chain's Ethereum genesis in a fixed context every validator derives
    /// alike (view 0, the first validator as leader, a zero parent).
    pub fn genesis(eth: SealedBlock, first_validator: PublicKey) -> Self {
        let context = ConsensusContext {
            round: Round::new(Epoch::zero(), View::zero()),
            leader: first_validator,
            parent: (View::zero(), Sha256::hash(&[b"tandem-genesis-parent"])),
        };
        Self::new(context, eth)
    }

    pub fn header(&self) -> &Header {
        self.eth.header()
    }
}

fn compute_digest(context: &ConsensusContext, eth: &SealedBlock) -> Digest {
    let mut encoded = Vec::with_capacity(context.encode_size());
    context.write(&mut encoded);
    Sha256::hash(&[b"tandem-block-v1", &encoded, eth.hash.as_slice()])
}

fn write_section(buf: &mut impl BufMut, bytes: &[u8]) {
    buf.put_u32(bytes.len() as u32);
    buf.put_slice(bytes);
}

fn read_section(buf: &mut impl Buf) -> Result<Vec<u8>, CodecError> {
    if buf.remaining() < 4 {
        return Err(CodecError::EndOfBuffer);
    }
    let len = buf.get_u32() as usize;
    if len > MAX_SECTION_BYTES {
        return Err(CodecError::InvalidLength(len));
    }
    if buf.remaining() < len {
        return Err(CodecError::EndOfBuffer);
    }
    let mut out = vec![0u8; len];
    buf.copy_to_slice(&mut out);
    Ok(out)
}

fn transactions(block: &SealedBlock) -> Vec<TxEnvelope> {
    block
        .block
        .transactions
        .iter()
        .map(|t| t.tx.clone())
        .collect()
}

impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        self.context.write(buf);
        write_section(buf, &alloy_rlp::encode(self.header()));
        write_section(buf, &alloy_rlp::encode(transactions(&self.eth)));
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        let txs = transactions(&self.eth);
        self.context.encode_size() + 8 + self.header().length() + txs.length()
    }
}

impl Read for Block {
    type Cfg = ();

    /// Decodes and checks signatures: a block with a transaction that recovers no sender is refused.
    fn read_cfg(buf: &mut impl Buf, _: &()) -> Result<Self, CodecError> {
        let context = ConsensusContext::read(buf)?;
        let header_bytes = read_section(buf)?;
        let header = Header::decode(&mut header_bytes.as_slice())
            .map_err(|_| CodecError::Invalid("Block", "header"))?;
        let txs_bytes = read_section(buf)?;
        let mut slice = txs_bytes.as_slice();
        let txs = Vec::<TxEnvelope>::decode(&mut slice)
            .map_err(|_| CodecError::Invalid("Block", "transactions"))?;
        if !slice.is_empty() || alloy_rlp::encode(&header).len() != header_bytes.len() {
            return Err(CodecError::Invalid("Block", "non-canonical encoding"));
        }
        let senders = recover_senders(&txs);
        let transactions = txs
            .into_iter()
            .zip(senders)
            .map(|(tx, sender)| {
                Ok(StoredTx {
                    sender: sender.map_err(|_| CodecError::Invalid("Block", "invalid sender"))?,
                    tx,
                })
            })
            .collect::<Result<Vec<_>, CodecError>>()?;
        Ok(Self::new(
            context,
            SealedBlock::seal(EthBlock {
                header,
                transactions,
            }),
        ))
    }
}

impl Digestible for Block {
    type Digest = Digest;

    fn digest(&self) -> Digest {
        self.digest
    }
}

impl Heightable for Block {
    fn height(&self) -> Height {
        Height::new(self.header().number)
    }
}

impl commonware_consensus::Block for Block {
    fn parent(&self) -> Digest {
        self.context.parent.1
    }
}

impl commonware_consensus::CertifiableBlock for Block {
    type Context = ConsensusContext;

    fn context(&self) -> ConsensusContext {
        self.context.clone()
    }
}

impl commonware_consensus::BoundedBlock for Block {
    fn max_encode_size(_: &()) -> usize {
        // Context (round, leader key, parent) is well under 1 KiB.
        1024 + 8 + 2 * MAX_SECTION_BYTES
    }
}
