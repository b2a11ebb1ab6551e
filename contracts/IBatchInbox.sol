// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// BatchInbox: tandem's L1 system contract that receives the L2 batcher's batches.
/// Address: 0x000000000000000000000000000000000000ba70 (native, not EVM bytecode).
///
/// The batch bytes stay in the transaction's calldata; the contract decodes each batch as it
/// arrives and takes it only if derivation can use all of it: it decodes, its first block follows
/// the last block of the batch before, and no block's L1 origin is later than the batch's L1 block. So the
/// accepted batches split the L2 chain into consecutive ranges, and any L2 block's inputs are named
/// by one batch, which is what lets a dispute settle in one transaction. The contract keeps the
/// address table the batch format names addresses by (the addresses each batch introduces, in
/// order, up to 1,000,000).
/// Storage: slot 0 the batcher, slot 1 the next sequence number, keccak256(abi.encode(sequence, 2))
/// the commitment of batch `sequence`, slot 3 the last L2 block accepted, slot 4 the table size,
/// keccak256(abi.encode(i, 5)) table entry i, keccak256(abi.encode(address, 6)) its position + 1,
/// keccak256(abi.encode(sequence, 7)) the table size before the batch << 128 | its first block << 64
/// | its last block.
/// Gas: besides the commitment's hashing, 8 per batch byte and 500 per transaction decoded, and
/// 5,000 per address added to the table.
interface IBatchInbox {
    /// Submits batch `sequence` (0, 1, 2, ...); only the registered batcher may. Not payable.
    function submitBatch(uint64 sequence, bytes calldata batch) external;
    /// The registered batcher.
    function batcher() external view returns (address);
    /// The sequence number the next batch must carry.
    function nextSequence() external view returns (uint64);
    /// keccak256 of batch `sequence`, or zero if none.
    function commitment(uint64 sequence) external view returns (bytes32);
    /// The L2 block the next batch must start with.
    function nextBlock() external view returns (uint64);
    /// The L2 blocks batch `sequence` carries (zeros if none).
    function batchRange(uint64 sequence) external view returns (uint64 firstBlock, uint64 lastBlock);
    /// How many addresses the table holds, and entry `index`.
    function tableSize() external view returns (uint64);
    function tableEntry(uint64 index) external view returns (address);

    event BatchSubmitted(uint64 indexed sequence, bytes32 commitment, uint256 size);

    error NotBatcher(address caller);
    error WrongSequence(uint64 expected, uint64 got);
    error BadBatch(string reason);
    error WrongFirstBlock(uint64 expected, uint64 got);
    error FutureOrigin(uint64 l2Block, uint64 l1Origin);
    error BadCall(bytes4 selector);
    error NotAllowed();
}
