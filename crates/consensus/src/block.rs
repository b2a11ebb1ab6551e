//! The consensus block: one Ethereum execution block and the simplex context it was proposed in.
//!
//! A block is its body: decoding refuses a block unless its header commits to exactly the body
//! that came with it (`tandem_primitives::body`), and unless that body fits in the gas the header
//! says it used. These checks cost hashing only, so a peer cannot make a node do more than hash
//! what it sends. Decoding recovers no signature: the senders are recovered once, when the block
//! is first executed (verified or committed), and every clone of the block shares them.
use alloy_primitives::{Address, B256, keccak256};
use alloy_rlp::{Decodable, Encodable};
use bytes::BufMut;
use commonware_codec::{Buf, EncodeSize, Error as CodecError, MaxEncodeSize, Read, ReadExt, Write};
use commonware_consensus::{
    Heightable,
    simplex::types::Context,
    types::{Epoch, Height, Round, View},
};
use commonware_cryptography::{Digestible, Hasher, Sha256, ed25519::PublicKey};
use std::sync::{Arc, OnceLock};
use tandem_execution::{evm_spec, recover_senders, revm::context_interface::cfg::GasParams};
use tandem_primitives::{
    ChainConfig, Header, SealedBlock, TxEnvelope,
    body::{self, BodyError},
};

/// Digest of a consensus block.
pub type Digest = commonware_cryptography::sha256::Digest;
/// The context simplex proposes a block in: round, leader and parent.
pub type ConsensusContext = Context<Digest, PublicKey>;

/// Largest encoded header accepted, in bytes. A block's header is about 600 bytes; the bound
/// leaves room for a genesis with large extra data, since marshal archives the genesis block and
/// decodes it again.
pub(crate) const MAX_HEADER_BYTES: usize = 1024 * 1024;
/// Largest encoded transaction list accepted from a peer, in bytes.
pub(crate) const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// What a block from a peer must keep to besides its header's commitments: the chain's gas
/// limit, and the least gas any transaction uses, which together bound how many transactions a
/// block can hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The chain's block gas limit: no header may claim more.
    pub gas_limit: u64,
    /// The least gas a transaction uses under the EVM rules blocks execute with (the EIP-7623
    /// floor: 21,000 since Prague). Zero means no bound.
    pub min_tx_gas: u64,
}

impl Limits {
    /// The limits of `config`'s chain under the executor's EVM rules.
    pub fn new(config: &ChainConfig) -> Self {
        Self {
            gas_limit: config.gas_limit,
            min_tx_gas: GasParams::new_spec(evm_spec()).tx_floor_cost_base_gas(),
        }
    }
}

/// Why a block from a peer is refused, beyond a malformed encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("gas limit {got} is above the chain's {max}")]
    GasLimit { got: u64, max: u64 },
    #[error("gas used {used} is above the gas limit {limit}")]
    GasUsed { used: u64, limit: u64 },
    #[error(
        "{count} transactions cannot fit in {gas_used} gas used: each uses at least {min_tx_gas}"
    )]
    TooManyTransactions {
        count: usize,
        gas_used: u64,
        min_tx_gas: u64,
    },
    #[error(
        "transaction {index} is unsigned (a deposit or post-execution transaction), which L1 blocks never carry"
    )]
    Unsigned { index: usize },
    #[error("the {0} is not encoded canonically")]
    NonCanonical(&'static str),
    #[error(transparent)]
    Body(#[from] BodyError),
}

impl From<Refused> for CodecError {
    fn from(e: Refused) -> Self {
        CodecError::Wrapped("Block", Box::new(e))
    }
}

/// A transaction of the block whose signature recovers no sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("transaction {index} recovers no sender")]
pub struct InvalidSender {
    pub index: usize,
}

type Senders = Result<Vec<Address>, InvalidSender>;

/// A consensus block. Its digest commits to the simplex context and to the Ethereum block hash,
/// which commits to the header and through it to the transactions and the post-state.
#[derive(Clone, Debug)]
pub struct Block {
    pub context: ConsensusContext,
    header: Header,
    /// The Ethereum block hash, keccak(rlp(header)).
    hash: B256,
    transactions: Arc<[TxEnvelope]>,
    /// Recovered on first use, once for every clone.
    senders: Arc<OnceLock<Senders>>,
    digest: Digest,
}

impl Block {
    /// A block built locally: its senders are known.
    pub fn new(context: ConsensusContext, eth: SealedBlock) -> Self {
        let (senders, transactions): (Vec<Address>, Vec<TxEnvelope>) = eth
            .block
            .transactions
            .into_iter()
            .map(|t| (t.sender, t.tx))
            .unzip();
        let digest = compute_digest(&context, &eth.hash);
        Self {
            context,
            header: eth.block.header,
            hash: eth.hash,
            transactions: transactions.into(),
            senders: Arc::new(OnceLock::from(Ok(senders))),
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
        &self.header
    }

    /// The Ethereum block hash.
    pub fn hash(&self) -> B256 {
        self.hash
    }

    pub fn transactions(&self) -> &[TxEnvelope] {
        &self.transactions
    }

    /// The transactions' senders, recovered (in parallel) on the first call for this block or
    /// any clone of it.
    pub fn senders(&self) -> Result<&[Address], InvalidSender> {
        self.senders
            .get_or_init(|| {
                recover_senders(&self.transactions)
                    .into_iter()
                    .enumerate()
                    .map(|(index, sender)| sender.map_err(|_| InvalidSender { index }))
                    .collect()
            })
            .as_deref()
            .map_err(|e| *e)
    }

    /// Whether the senders have been recovered (or were known).
    pub fn senders_known(&self) -> bool {
        self.senders.get().is_some()
    }
}

impl PartialEq for Block {
    fn eq(&self, other: &Self) -> bool {
        self.digest == other.digest && self.transactions == other.transactions
    }
}

impl Eq for Block {}

fn compute_digest(context: &ConsensusContext, hash: &B256) -> Digest {
    let mut encoded = Vec::with_capacity(context.encode_size());
    context.write(&mut encoded);
    Sha256::hash(&[b"tandem-block-v1", &encoded, hash.as_slice()])
}

fn read_section(buf: &mut impl Buf, max: usize) -> Result<Vec<u8>, CodecError> {
    if buf.remaining() < 4 {
        return Err(CodecError::EndOfBuffer);
    }
    let len = buf.get_u32() as usize;
    if len > max {
        return Err(CodecError::InvalidLength(len));
    }
    if buf.remaining() < len {
        return Err(CodecError::EndOfBuffer);
    }
    let mut out = vec![0u8; len];
    buf.copy_to_slice(&mut out);
    Ok(out)
}

/// The number of items in an RLP list, read from their headers alone.
fn list_items(mut list: &[u8]) -> Result<usize, CodecError> {
    let malformed = || CodecError::Invalid("Block", "transactions");
    let header = alloy_rlp::Header::decode(&mut list).map_err(|_| malformed())?;
    if !header.list || header.payload_length != list.len() {
        return Err(malformed());
    }
    let mut count = 0;
    while !list.is_empty() {
        let item = alloy_rlp::Header::decode(&mut list).map_err(|_| malformed())?;
        list = list.get(item.payload_length..).ok_or_else(malformed)?;
        count += 1;
    }
    Ok(count)
}

impl Write for Block {
    fn write(&self, buf: &mut impl BufMut) {
        self.context.write(buf);
        buf.put_u32(self.header.length() as u32);
        self.header.encode(buf);
        buf.put_u32(alloy_rlp::list_length(&self.transactions) as u32);
        alloy_rlp::encode_list::<_, TxEnvelope>(&self.transactions, buf);
    }
}

impl EncodeSize for Block {
    fn encode_size(&self) -> usize {
        self.context.encode_size()
            + 8
            + self.header.length()
            + alloy_rlp::list_length(&self.transactions)
    }
}

impl Read for Block {
    type Cfg = Limits;

    /// Decodes a block and checks, cheapest first, that its header commits to its body: the
    /// header's own bounds and empty lists, then the transaction count against the gas used,
    /// then the transactions root. Recovers no signature.
    fn read_cfg(buf: &mut impl Buf, limits: &Limits) -> Result<Self, CodecError> {
        let context = ConsensusContext::read(buf)?;
        let header_bytes = read_section(buf, MAX_HEADER_BYTES)?;
        let header = Header::decode(&mut header_bytes.as_slice())
            .map_err(|_| CodecError::Invalid("Block", "header"))?;
        if alloy_rlp::encode(&header) != header_bytes {
            return Err(Refused::NonCanonical("header").into());
        }
        if header.gas_limit > limits.gas_limit {
            return Err(Refused::GasLimit {
                got: header.gas_limit,
                max: limits.gas_limit,
            }
            .into());
        }
        if header.gas_used > header.gas_limit {
            return Err(Refused::GasUsed {
                used: header.gas_used,
                limit: header.gas_limit,
            }
            .into());
        }
        body::check_empty_commitments(&header).map_err(Refused::from)?;

        let txs_bytes = read_section(buf, MAX_BODY_BYTES)?;
        let count = list_items(&txs_bytes)?;
        if (count as u64).saturating_mul(limits.min_tx_gas) > header.gas_used {
            return Err(Refused::TooManyTransactions {
                count,
                gas_used: header.gas_used,
                min_tx_gas: limits.min_tx_gas,
            }
            .into());
        }
        let txs = Vec::<TxEnvelope>::decode(&mut txs_bytes.as_slice())
            .map_err(|_| CodecError::Invalid("Block", "transactions"))?;
        if let Some(index) = txs.iter().position(|tx| tx.signature().is_none()) {
            return Err(Refused::Unsigned { index }.into());
        }
        if alloy_rlp::encode(&txs) != txs_bytes {
            return Err(Refused::NonCanonical("transaction list").into());
        }
        body::check_body(&header, &txs).map_err(Refused::from)?;

        let hash = keccak256(&header_bytes);
        Ok(Self {
            digest: compute_digest(&context, &hash),
            context,
            header,
            hash,
            transactions: txs.into(),
            senders: Arc::default(),
        })
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
        Height::new(self.header.number)
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
    fn max_encode_size(_: &Limits) -> usize {
        ConsensusContext::MAX_ENCODE_SIZE + 8 + MAX_HEADER_BYTES + MAX_BODY_BYTES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::{
        EMPTY_OMMER_ROOT_HASH, EMPTY_ROOT_HASH, TxEip1559, proofs::calculate_transaction_root,
    };
    use alloy_primitives::{Address, B256, Signature, TxKind, U256};
    use commonware_codec::{Decode, Encode};
    use commonware_cryptography::{Signer as _, ed25519::PrivateKey};
    use std::error::Error as _;
    use tandem_execution::recover_sender;
    use tandem_primitives::dev;

    const GAS_LIMIT: u64 = 60_000_000;
    const LIMITS: Limits = Limits {
        gas_limit: GAS_LIMIT,
        min_tx_gas: 21_000,
    };

    fn context() -> ConsensusContext {
        ConsensusContext {
            round: Round::new(Epoch::zero(), View::new(7)),
            leader: PrivateKey::from_seed(0).public_key(),
            parent: (View::new(6), Sha256::hash(&[b"parent"])),
        }
    }

    fn transfer(nonce: u64) -> TxEip1559 {
        TxEip1559 {
            chain_id: 900,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 100_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(Address::with_last_byte(0x10)),
            value: U256::from(1_000 + nonce),
            ..Default::default()
        }
    }

    fn signed(from: usize, nonce: u64) -> TxEnvelope {
        dev::accounts()[from].sign(transfer(nonce))
    }

    /// A transaction whose signature recovers no key (r = 0): only recovery can tell.
    fn unsigned(nonce: u64) -> TxEnvelope {
        let tx = transfer(nonce);
        let signature = Signature::new(U256::ZERO, U256::from(1), false);
        TxEnvelope::Eip1559(alloy_consensus::SignableTransaction::into_signed(
            tx, signature,
        ))
    }

    fn header(txs: &[TxEnvelope], gas_used: u64) -> Header {
        Header {
            number: 1,
            gas_limit: GAS_LIMIT,
            gas_used,
            timestamp: 1_750_000_000,
            transactions_root: calculate_transaction_root(txs),
            ommers_hash: EMPTY_OMMER_ROOT_HASH,
            withdrawals_root: Some(EMPTY_ROOT_HASH),
            base_fee_per_gas: Some(7),
            blob_gas_used: Some(0),
            excess_blob_gas: Some(0),
            parent_beacon_block_root: Some(B256::ZERO),
            ..Default::default()
        }
    }

    fn block(txs: &[TxEnvelope]) -> Block {
        let transactions = txs
            .iter()
            .map(|tx| tandem_primitives::StoredTx {
                sender: recover_sender(tx).unwrap(),
                tx: tx.clone(),
            })
            .collect();
        Block::new(
            context(),
            SealedBlock::seal(tandem_primitives::Block {
                // As if each transaction were a call that used 50,000 gas.
                header: header(txs, 50_000 * txs.len() as u64),
                transactions,
            }),
        )
    }

    fn write_section(out: &mut Vec<u8>, bytes: &[u8]) {
        out.put_u32(bytes.len() as u32);
        out.extend_from_slice(bytes);
    }

    /// The wire format written by hand: context, then the header and the transactions, each
    /// behind its length.
    fn encoding(context: &ConsensusContext, header: &Header, txs: &[TxEnvelope]) -> Vec<u8> {
        let mut out = Vec::new();
        context.write(&mut out);
        write_section(&mut out, &alloy_rlp::encode(header));
        write_section(&mut out, &alloy_rlp::encode(txs.to_vec()));
        out
    }

    fn decode(bytes: &[u8]) -> Result<Block, CodecError> {
        Block::decode_cfg(bytes.to_vec(), &LIMITS)
    }

    /// The error with its source, which carries the facts.
    fn reason(e: &CodecError) -> String {
        match e.source() {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        }
    }

    #[test]
    fn a_block_round_trips_through_its_encoding() {
        let txs = [signed(0, 0), signed(1, 0), signed(0, 1)];
        let block = block(&txs);
        let bytes = block.encode();
        assert_eq!(bytes.len(), block.encode_size());
        assert_eq!(
            &bytes[..],
            &encoding(&block.context, block.header(), &txs)[..]
        );
        assert_eq!(decode(&bytes).unwrap(), block);
    }

    #[test]
    fn the_right_header_with_another_body_is_refused() {
        let txs = vec![signed(0, 0), signed(1, 0), signed(0, 1)];
        let honest = block(&txs);
        let header = honest.header().clone();
        let bodies: [(&str, Vec<TxEnvelope>); 6] = [
            (
                "other transactions",
                vec![signed(2, 0), signed(3, 0), signed(2, 1)],
            ),
            ("one extra", [txs.clone(), vec![signed(4, 0)]].concat()),
            ("one missing", txs[..2].to_vec()),
            (
                "reordered",
                vec![txs[1].clone(), txs[0].clone(), txs[2].clone()],
            ),
            (
                "one replaced",
                vec![txs[0].clone(), signed(5, 0), txs[2].clone()],
            ),
            ("none", Vec::new()),
        ];
        for (what, body) in bodies {
            let bytes = encoding(&honest.context, &header, &body);
            let err = decode(&bytes).expect_err(what);
            assert!(
                reason(&err).contains("transactions root"),
                "{what}: {}",
                reason(&err)
            );
        }
        // An empty block's header commits to no transactions.
        let empty = block(&[]);
        let bytes = encoding(&empty.context, empty.header(), &[signed(0, 0)]);
        assert!(
            decode(&bytes).is_err(),
            "a transaction slipped into an empty block"
        );
    }

    #[test]
    fn a_header_must_commit_to_no_ommers_withdrawals_blob_gas_or_access_list() {
        let txs = [signed(0, 0)];
        let good = header(&txs, 21_000);
        let bad: [(&str, Header); 4] = [
            (
                "ommers",
                Header {
                    ommers_hash: B256::repeat_byte(1),
                    ..good.clone()
                },
            ),
            (
                "withdrawals",
                Header {
                    withdrawals_root: Some(B256::repeat_byte(2)),
                    ..good.clone()
                },
            ),
            (
                "blob gas",
                Header {
                    blob_gas_used: Some(131_072),
                    ..good.clone()
                },
            ),
            (
                "block access list",
                Header {
                    // The optional fields before it must be there for it to be encoded.
                    requests_hash: Some(B256::ZERO),
                    block_access_list_hash: Some(B256::repeat_byte(3)),
                    ..good
                },
            ),
        ];
        for (what, header) in bad {
            let err = decode(&encoding(&context(), &header, &txs)).expect_err(what);
            assert!(reason(&err).contains(what), "{what}: {}", reason(&err));
        }
    }

    #[test]
    fn more_transactions_than_the_gas_allows_are_refused_before_any_signature_is_checked() {
        // Three transactions whose signatures recover nothing, under a header that commits to
        // them but says they used gas for two: refused for the count, not for the signatures.
        let txs = [unsigned(0), unsigned(1), unsigned(2)];
        let err = decode(&encoding(&context(), &header(&txs, 2 * 21_000), &txs)).unwrap_err();
        assert!(reason(&err).contains("cannot fit"), "{}", reason(&err));
        // A header claiming more gas than the chain allows, or than its own limit.
        let greedy = Header {
            gas_limit: GAS_LIMIT + 1,
            gas_used: GAS_LIMIT + 1,
            ..header(&txs, 0)
        };
        let err = decode(&encoding(&context(), &greedy, &txs)).unwrap_err();
        assert!(reason(&err).contains("gas limit"), "{}", reason(&err));
        let over = Header {
            gas_used: GAS_LIMIT + 1,
            ..header(&txs, 0)
        };
        let err = decode(&encoding(&context(), &over, &txs)).unwrap_err();
        assert!(reason(&err).contains("gas limit"), "{}", reason(&err));
    }

    #[test]
    fn trailing_or_non_canonical_bytes_are_refused() {
        let txs = [signed(0, 0)];
        let block = block(&txs);
        let mut bytes = block.encode().to_vec();
        bytes.push(0);
        assert!(decode(&bytes).is_err(), "a trailing byte");
        let mut txs_bytes = alloy_rlp::encode(txs.to_vec());
        txs_bytes.push(0xc0);
        let mut bytes = Vec::new();
        block.context.write(&mut bytes);
        write_section(&mut bytes, &alloy_rlp::encode(block.header()));
        write_section(&mut bytes, &txs_bytes);
        assert!(decode(&bytes).is_err(), "bytes after the transaction list");
    }

    #[test]
    fn decoding_recovers_no_signature_and_every_clone_shares_one_recovery() {
        // As many transactions as 60M gas allows, none validly signed: decoding only hashes them.
        let count = GAS_LIMIT / 21_000;
        let txs: Vec<TxEnvelope> = (0..count).map(unsigned).collect();
        let bytes = encoding(&context(), &header(&txs, count * 21_000), &txs);
        let block = decode(&bytes).unwrap();
        assert!(!block.senders_known(), "decoding recovered senders");
        assert_eq!(block.senders(), Err(InvalidSender { index: 0 }));

        let txs = [signed(0, 0), signed(1, 0)];
        let decoded = decode(&block_bytes(&txs)).unwrap();
        let clone = decoded.clone();
        assert!(!decoded.senders_known());
        let expected: Vec<Address> = txs.iter().map(|tx| recover_sender(tx).unwrap()).collect();
        assert_eq!(clone.senders().unwrap(), &expected[..]);
        assert!(
            decoded.senders_known(),
            "a clone recovers for the original too"
        );
    }

    fn block_bytes(txs: &[TxEnvelope]) -> Vec<u8> {
        block(txs).encode().to_vec()
    }

    #[test]
    fn an_unsigned_transaction_is_refused() {
        let deposit = TxEnvelope::Deposit(alloy_primitives::Sealed::new(
            tandem_primitives::TxDeposit::default(),
        ));
        let txs = [signed(0, 0), deposit];
        let err = decode(&encoding(&context(), &header(&txs, 100_000), &txs)).unwrap_err();
        assert!(
            reason(&err).contains("transaction 1 is unsigned"),
            "{}",
            reason(&err)
        );
    }

    #[test]
    fn the_limits_are_the_chains_gas_limit_and_the_evm_rules_gas_floor() {
        let config = tandem_primitives::genesis::chain_config(&tandem_execution::dev_genesis(900));
        assert_eq!(Limits::new(&config), LIMITS);
    }

    #[test]
    fn a_block_the_executor_builds_decodes_and_its_body_matches_its_header() {
        use tandem_execution::{BlockAttributes, Executor, genesis_block};
        use tandem_primitives::genesis;
        let dir = tempfile::tempdir().unwrap();
        let storage = tandem_storage::Storage::open(&dir.path().join("chain.redb")).unwrap();
        let genesis = tandem_execution::dev_genesis(900);
        let config = genesis::chain_config(&genesis);
        let parent = genesis_block(&storage.read().unwrap(), &genesis).unwrap();
        storage.commit(&parent.clone().into_commit()).unwrap();
        let reader = storage.read().unwrap();
        let attrs = BlockAttributes {
            timestamp: 1_750_000_000,
            beneficiary: Address::with_last_byte(0xf0),
            prev_randao: B256::repeat_byte(3),
        };
        let mut executor = Executor::on_pending(
            &reader,
            None,
            tandem_state::LatestState(&reader),
            &config,
            parent.block.header(),
            &attrs,
        );
        for tx in [signed(0, 0), signed(1, 0), signed(0, 1)] {
            let sender = recover_sender(&tx).unwrap();
            executor.execute(tx, sender).unwrap();
        }
        let built = executor.finish().unwrap();
        let block = Block::new(context(), built.block);
        let decoded = Block::decode_cfg(block.encode(), &Limits::new(&config)).unwrap();
        assert_eq!(decoded, block);
        assert_eq!(decoded.hash(), block.header().hash_slow());
        assert_eq!(decoded.digest(), block.digest());
    }
}
