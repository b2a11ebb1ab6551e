// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// DisputeGame: tandem's L1 system contract that settles a dispute over an L2 output in one call.
/// Address: 0x000000000000000000000000000000000000B0A3 (native, not EVM bytecode).
///
/// A challenger names one L2 block of an output that is not final yet and proves, against L1
/// alone, everything the block's true output depends on:
/// - what the proposer claimed for the block and for its parent (Merkle proofs into the output's
///   blocksRoot; the parent of an output's first block is the previous output, or the L2 genesis
///   output stored here at genesis), and the parent claim's preimage;
/// - the block's inputs: the accepted batch that carries it (its bytes hash to BatchInbox's
///   commitment), the header of its L1 origin (its hash is L1's block hash), and the Portal queue
///   entries from the parent's next index that its origin makes due (each against the Portal's
///   recorded hash and L1 block, up to the first that is not due, or past the L2 gas limit);
/// - a witness of the state it reads.
/// EXECUTE re-executes the block. If the true output root differs from the claim, the output and
/// every later one are deleted (later proposers get their bonds back), the challenger gets its bond
/// back plus the wrong output's bond minus a quarter that is burnt, and anyone may propose again.
/// If they agree, the challenger's bond goes to the output's proposer. Anything that does not
/// prove (a bad proof, a batch that does not match, an incomplete witness) reverts and changes
/// nothing. The bond is OutputOracle's minBond.
/// Storage: slot 0 the L2 genesis output root.
interface IDisputeGame {
    struct OutputRootProof {
        bytes32 stateRoot;
        bytes32 messagePasserStorageRoot;
        bytes32 blockHash;
    }

    struct Challenge {
        uint256 outputIndex;
        uint64 l2BlockNumber;
        /// What the output claims for that block, and its Merkle proof in the output's blocksRoot.
        bytes32 claimedRoot;
        bytes32[] claimedProof;
        /// The parent's claimed output, as its preimage, and its proof (empty when the parent is
        /// the previous output's block or the L2 genesis).
        OutputRootProof parent;
        bytes32[] parentProof;
        /// The accepted batch that carries the block, and its bytes.
        uint64 batchSequence;
        bytes batch;
        /// RLP header of the block's L1 origin.
        bytes l1OriginHeader;
        /// EIP-2718 queue entries from the parent's next queue index.
        bytes[] queue;
        /// RLP execution witness (see IExecute).
        bytes witness;
    }

    /// Challenges one block of an output, with msg.value >= bond() at stake. Returns whether the
    /// challenger won.
    function challenge(Challenge calldata c) external payable returns (bool won);
    function bond() external view returns (uint256);
    function genesisOutputRoot() external view returns (bytes32);

    event Challenged(
        uint256 indexed outputIndex,
        uint64 indexed l2BlockNumber,
        address indexed challenger,
        bool won,
        bytes32 claimedRoot,
        bytes32 trueRoot
    );

    error BondTooLow(uint256 minimum, uint256 got);
    error OutputNotFound(uint256 index);
    error OutputFinal(uint256 index);
    error BlockNotInOutput(uint64 first, uint64 last);
    error BadProof(string what);
    error BadBatch(string reason);
    error BadOrigin(string reason);
    error BadQueue(string reason);
    error ExecutionFailed(string reason);
    error BadCall(bytes4 selector);
    error NotAllowed();
}
