// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// BatchInbox: tandem's L1 system contract that receives the L2 batcher's batches.
/// Address: 0x000000000000000000000000000000000000ba70 (native, not EVM bytecode).
/// The batch bytes stay in the transaction's calldata; the contract stores a commitment to each.
/// Storage: slot 0 the batcher, slot 1 the next sequence number,
/// keccak256(abi.encode(sequence, 2)) the commitment of batch `sequence`.
interface IBatchInbox {
    /// Submits batch `sequence` (0, 1, 2, ...); only the registered batcher may. Not payable.
    function submitBatch(uint64 sequence, bytes calldata batch) external;
    /// The registered batcher.
    function batcher() external view returns (address);
    /// The sequence number the next batch must carry.
    function nextSequence() external view returns (uint64);
    /// keccak256 of batch `sequence`, or zero if none.
    function commitment(uint64 sequence) external view returns (bytes32);

    event BatchSubmitted(uint64 indexed sequence, bytes32 commitment, uint256 size);

    error NotBatcher(address caller);
    error WrongSequence(uint64 expected, uint64 got);
    error BadCall(bytes4 selector);
    error NotAllowed();
}
