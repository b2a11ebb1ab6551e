// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// Portal: tandem's L1 system contract between L1 and L2.
/// Address: 0x000000000000000000000000000000000000B0A1 (native, not EVM bytecode).
///
/// Deposits and forced transactions go into one queue. Entry i is included at the start of the
/// first L2 block whose L1 origin is at or after the L1 block that queued it, in queue order (as
/// many as fit in the block's gas; the rest go first in the next block). The L2 state records the
/// next queue index and the rolling hash, so no entry can be skipped or reordered.
/// queueHash(i + 1) = keccak256(queueHash(i) ++ entryHash), where entryHash is the L2 transaction
/// hash: of the deposit transaction (type 0x7E) for a deposit, of the signed transaction for a
/// forced one. A deposit's sourceHash is keccak256(abi.encode(uint256(0), uint256(index))).
///
/// Withdrawals: prove `sentMessages[hash] == true` in the L2ToL1MessagePasser's storage against a
/// final output (OutputOracle) and the Portal pays `value` to `target`, once.
/// Storage: slot 0 queue length, slot 1 queue hash, keccak256(abi.encode(hash, 2)) finalized,
/// keccak256(abi.encode(i, 3)) the queue hash after entry i, keccak256(abi.encode(i, 4)) the L1
/// block that queued entry i (so a dispute can prove any run of entries and when they were due).
interface IPortal {
    struct Withdrawal {
        uint256 nonce;
        address sender;
        address target;
        uint256 value;
        uint256 gasLimit;
        bytes data;
    }

    struct OutputRootProof {
        bytes32 version;
        bytes32 stateRoot;
        bytes32 messagePasserStorageRoot;
        bytes32 blockHash;
    }

    /// Locks msg.value and queues a deposit: on L2, `mint` = msg.value is credited to the sender
    /// (aliased when the caller is a contract: address + 0x1111000000000000000000000000000000001111),
    /// which then calls `to` with `value` and `data`. The mint stands even if the call reverts.
    /// 21,000 <= gasLimit <= 2,000,000; data at most 64 KiB.
    function depositTransaction(address to, uint256 value, uint64 gasLimit, bytes calldata data) external payable;

    /// Queues a signed L2 transaction; L2 includes it (or skips it as invalid, like any other
    /// transaction) even if the sequencer censors its sender. Not payable.
    function forceTransaction(bytes calldata signedL2Tx) external;

    /// Pays out a withdrawal proven against output `outputIndex`, which must be final. Reverts if
    /// the output is not final, the output root proof or the storage proof is wrong, or the
    /// withdrawal was paid before. A withdrawal with data is a message for its target: only the
    /// target's own call finalizes it (OnlyTarget otherwise), and the target acts on the data.
    function finalizeWithdrawal(
        Withdrawal calldata withdrawal,
        uint256 outputIndex,
        OutputRootProof calldata outputRootProof,
        bytes[] calldata withdrawalProof
    ) external;

    /// Entries queued so far.
    function queueLength() external view returns (uint64);
    /// The rolling hash after the last queued entry (zero when empty).
    function queueHash() external view returns (bytes32);
    /// The rolling hash after entry `index` and the L1 block that queued it (zeros past the end).
    function queueEntry(uint64 index) external view returns (bytes32 hashAfter, uint64 l1Block);
    /// Whether a withdrawal (by its hash) has been paid.
    function finalizedWithdrawals(bytes32 withdrawalHash) external view returns (bool);

    event TransactionDeposited(
        uint64 indexed index,
        address indexed from,
        address indexed to,
        uint256 mint,
        uint256 value,
        uint64 gasLimit,
        bytes data,
        bytes32 queueHash
    );
    event TransactionForced(uint64 indexed index, address indexed sender, bytes transaction, bytes32 queueHash);
    event WithdrawalFinalized(bytes32 indexed withdrawalHash, address indexed target, uint256 value);

    error GasLimitOutOfRange(uint64 gasLimit);
    error DataTooLarge(uint256 size);
    error BadTransaction();
    error OutputNotFound(uint256 index);
    error OutputNotFinal(uint256 index, uint64 finalAt);
    error BadOutputRootProof();
    error BadWithdrawalProof();
    error AlreadyFinalized(bytes32 withdrawalHash);
    /// The Portal holds less than the withdrawal pays: only ETH deposited through it backs L2
    /// (an L2 genesis that funds accounts directly mints ETH no deposit locked).
    error InsufficientLocked(uint256 locked, uint256 value);
    error OnlyTarget(address target);
    error BadCall(bytes4 selector);
    error NotAllowed();
}
