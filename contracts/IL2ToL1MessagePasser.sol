// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// L2ToL1MessagePasser: tandem's L2 predeploy recording withdrawals (OP Stack's address).
/// Address: 0x4200000000000000000000000000000000000016 (native, not EVM bytecode).
///
/// initiateWithdrawal burns msg.value and sets sentMessages[withdrawalHash] = true, where
/// withdrawalHash = keccak256(abi.encode(nonce, msg.sender, to, msg.value, gasLimit, data)), as
/// OP Stack's Hashing.hashWithdrawal. On L1 the Portal pays `value` to `to` once the withdrawal
/// is proven against a final output. L1's Portal is native and makes no calls: a withdrawal with
/// `data` (at most 64 KiB) is a message for `to`, which takes it by calling
/// `IPortal.finalizeWithdrawal` itself (the L1 messenger does, for the L2 messenger's messages:
/// ICrossDomainMessenger.sol); `gasLimit` is recorded for the target's use.
/// Storage: keccak256(abi.encode(hash, 0)) sentMessages, slot 1 messageNonce.
interface IL2ToL1MessagePasser {
    function initiateWithdrawal(address to, uint64 gasLimit, bytes calldata data) external payable;
    function sentMessages(bytes32 withdrawalHash) external view returns (bool);
    function messageNonce() external view returns (uint256);

    event MessagePassed(
        uint256 indexed nonce,
        address indexed sender,
        address indexed target,
        uint256 value,
        uint256 gasLimit,
        bytes data,
        bytes32 withdrawalHash
    );

    error DataTooLarge(uint256 size);
    error BadCall(bytes4 selector);
    error NotAllowed();
}
