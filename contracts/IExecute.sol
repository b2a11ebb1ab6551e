// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// EXECUTE: tandem's L1 precompile that re-executes one L2 block statelessly.
/// Address: 0x000000000000000000000000000000000000B0A4 (native, not EVM bytecode).
///
/// From the parent block's output-root preimage, the block's inputs and a witness, it runs the
/// same L2 state-transition code the sequencer and verifiers run, reading state only from the
/// witness, and returns the block's output. An incomplete or wrong witness reverts with
/// ExecutionFailed; it never returns a root it could not prove.
///
/// inputs  = rlp([timestamp, [l1Number, l1Hash, l1Timestamp, l1BaseFee],
///                [[queueIndex, l1Block, eip2718Tx], ...], [eip2718Tx, ...]])
/// witness = rlp([blockNumber, parentStateRoot, [trieNode, ...], [code, ...], [key, ...],
///                [parentHeader, grandparentHeader, ...]])
/// Gas: 2,000 + 2 per byte of inputs and witness (their calldata is paid besides) + 3,000 per transaction (sender recovery)
/// + 1 per unit of L2 gas the block uses; before re-executing, the call must still have the gas
/// limits of the block's transactions (at most the L2 block gas limit) left. The L2 rules (chain id, gas limit, fee parameters,
/// sequencer drift) sit in storage slots 0 to 5, fixed at genesis.
interface IExecute {
    function execute(
        bytes32 parentStateRoot,
        bytes32 parentMessagePasserRoot,
        bytes32 parentBlockHash,
        bytes calldata inputs,
        bytes calldata witness
    ) external view returns (bytes32 outputRoot, bytes32 stateRoot, bytes32 messagePasserRoot, bytes32 blockHash, uint64 l2GasUsed);

    /// The chain id of the L2 whose blocks this L1 re-executes.
    function l2ChainId() external view returns (uint64);

    error ExecutionFailed(string reason);
    error BadCall(bytes4 selector);
    error NotAllowed();
}
