//! A test chain: dev genesis in a temporary redb, and helpers to build and commit blocks.
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, TxKind, U256};
use tandem_execution::{
    BlockAttributes, ExecutedBlock, Executor, genesis_block,
    l2::{L2Block, L2BlockBuilder, L2BlockInputs, L2Error, execute_l2_block},
};
use tandem_primitives::{ChainConfig, Genesis, GenesisAccount, Header, TxEnvelope, dev, genesis};
use tandem_state::LatestState;
use tandem_storage::{Reader, Storage};

pub(crate) struct TestChain {
    _dir: tempfile::TempDir,
    pub(crate) storage: Storage,
    pub(crate) chain: ChainConfig,
}

impl TestChain {
    /// The dev L1 with `gas_limit` and Ethereum's elasticity of 2 (blocks fill to the limit).
    pub(crate) fn new(gas_limit: u64) -> Self {
        let mut g: Genesis = tandem_execution::dev_genesis(900);
        g.gas_limit = gas_limit;
        g.config.extra_fields.remove("eip1559Elasticity");
        Self::from_genesis(g)
    }

    pub(crate) fn from_genesis(g: Genesis) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(&dir.path().join("db")).unwrap();
        let block = genesis_block(&storage.read().unwrap(), &g).unwrap();
        storage.commit(&block.into_commit()).unwrap();
        Self {
            _dir: dir,
            storage,
            chain: genesis::chain_config(&g),
        }
    }

    pub(crate) fn head(&self) -> Header {
        let reader = self.storage.read().unwrap();
        reader
            .header(reader.last_height().unwrap())
            .unwrap()
            .unwrap()
    }

    /// Executes the L2 block of `inputs` on top of the head without committing.
    pub(crate) fn execute_l2(&self, inputs: &L2BlockInputs) -> Result<L2Block, L2Error> {
        let reader = self.storage.read().unwrap();
        execute_l2_block(
            (&reader).into(),
            LatestState(&reader),
            &self.chain,
            &self.head(),
            inputs,
        )
    }

    /// Builds the L2 block of `inputs` on top of the head the way the sequencer does (leaving out,
    /// as if never tried, what the witness budget refuses), without committing.
    pub(crate) fn sequence_l2(&self, inputs: &L2BlockInputs) -> L2Block {
        let reader = self.storage.read().unwrap();
        let mut builder = L2BlockBuilder::open(
            (&reader).into(),
            LatestState(&reader),
            &self.chain,
            &self.head(),
            inputs.timestamp,
            inputs.l1_origin,
            &inputs.queue,
        )
        .unwrap();
        builder.sequencing();
        let skipped = inputs
            .transactions
            .iter()
            .filter_map(|t| {
                let e = builder.execute(t.tx.clone(), t.sender).err()?;
                Some((t.tx.tx_hash(), e.to_string()))
            })
            .collect();
        let witness_bytes = builder.witness_bytes();
        L2Block {
            executed: builder.finish().unwrap(),
            skipped,
            witness_bytes,
        }
    }

    /// An L2 dev chain with `code` (hex) at `address` besides.
    pub(crate) fn l2_with_code(address: Address, code: &str) -> Self {
        let mut g = genesis::dev_l2_genesis();
        g.alloc.insert(
            address,
            GenesisAccount::default()
                .with_code(Some(alloy_primitives::hex::decode(code).unwrap().into())),
        );
        Self::from_genesis(g)
    }

    /// The next block opened on the head, over `reader`.
    pub(crate) fn open<'r>(&self, reader: &'r Reader) -> Executor<'r, LatestState<'r>> {
        let parent = self.head();
        let attrs = BlockAttributes {
            timestamp: parent.timestamp + 1,
            beneficiary: Address::with_last_byte(0xfe),
            prev_randao: Default::default(),
        };
        Executor::new(reader, LatestState(reader), &self.chain, &parent, &attrs)
    }

    /// Executes `txs` on top of the head without committing. Every transaction must be valid.
    pub(crate) fn execute(&self, txs: &[(TxEnvelope, Address)]) -> ExecutedBlock {
        let reader = self.storage.read().unwrap();
        let mut executor = self.open(&reader);
        for (tx, sender) in txs {
            executor.execute(tx.clone(), *sender).unwrap();
        }
        executor.finish().unwrap()
    }

    pub(crate) fn mine(&self, txs: &[(TxEnvelope, Address)]) -> ExecutedBlock {
        let block = self.execute(txs);
        self.storage.commit(&block.clone().into_commit()).unwrap();
        block
    }

    pub(crate) fn nonce(&self, address: Address) -> u64 {
        self.storage
            .read()
            .unwrap()
            .account(address)
            .unwrap()
            .map(|a| a.nonce)
            .unwrap_or_default()
    }
}

/// A signed transfer of `value` wei from dev account `from` to `to`.
pub(crate) fn transfer(
    from: usize,
    nonce: u64,
    to: Address,
    value: u64,
    max_fee: u128,
) -> (TxEnvelope, Address) {
    let account = &dev::accounts()[from];
    let tx = TxEip1559 {
        chain_id: 900,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: 1,
        to: TxKind::Call(to),
        value: U256::from(value),
        ..Default::default()
    };
    (account.sign(tx), account.address)
}
