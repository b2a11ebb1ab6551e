// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// L1Block: tandem's L2 predeploy holding the L1 origin of the current L2 block.
/// Address: 0x4200000000000000000000000000000000000015 (native, not EVM bytecode). Read-only: the
/// L2 state transition writes it at the start of each block.
/// Storage: slot 0 number, 1 timestamp, 2 base fee, 3 hash, 4 next Portal queue index, 5 Portal
/// queue hash after the last included entry, 6 witness bytes the last L2 block charged, 7 bytes of
/// sequenced transactions it held.
interface IL1Block {
    /// Number of the L1 origin block.
    function number() external view returns (uint64);
    /// Timestamp of the L1 origin block.
    function timestamp() external view returns (uint64);
    /// Base fee of the L1 origin block, in wei.
    function basefee() external view returns (uint256);
    /// Hash of the L1 origin block.
    function hash() external view returns (bytes32);
    /// Index of the next Portal queue entry (deposit or forced transaction) L2 will include.
    function queueIndex() external view returns (uint64);
    /// The Portal's rolling queue hash after the last entry L2 included.
    function queueHash() external view returns (bytes32);
    /// Witness bytes the last L2 block charged to its budget (of 680,000): the next block's base
    /// fee counts them as the same share of its gas limit.
    function witnessUsed() external view returns (uint64);
    /// Bytes of sequenced transactions the last L2 block held (of 114,688): the next block's base
    /// fee counts them as the same share of its gas limit.
    function dataBytes() external view returns (uint64);

    error BadCall(bytes4 selector);
    error NotAllowed();
}
