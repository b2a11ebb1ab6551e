// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IPortalDeposit {
    function depositTransaction(address to, uint256 value, uint64 gasLimit, bytes calldata data) external payable;
}

/// Deposits into L2 on behalf of its caller: the Portal sees a contract, so the L2 sender is
/// this contract's alias.
contract DepositForwarder {
    IPortalDeposit constant PORTAL = IPortalDeposit(0x000000000000000000000000000000000000B0a1);

    function deposit(address to) external payable {
        PORTAL.depositTransaction{value: msg.value}(to, msg.value, 100000, "");
    }
}
