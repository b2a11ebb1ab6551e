// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// Refuses every call: the inner call of a traced transaction.
contract Inner {
    function fail(uint256) external pure returns (uint256) {
        revert("inner says no");
    }
}

/// Calls Inner, which reverts, and carries on: the transaction succeeds with a failed inner call.
contract Outer {
    uint256 public tries;
    event Tried(bool ok);

    function go(address inner) external payable {
        (bool ok, ) = inner.call(abi.encodeWithSignature("fail(uint256)", 7));
        tries += 1;
        emit Tried(ok);
    }
}
