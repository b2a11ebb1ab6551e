// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// A time-locked vault: deposits are released to their owner after `delay` seconds, and the
/// keeper may change the delay. What the Foundry tests read back from a chain and drive with
/// time travel, impersonation and balances.
contract Vault {
    address public keeper;
    uint256 public delay;
    mapping(address => uint256) public balanceOf;
    mapping(address => uint256) public unlockAt;

    event Deposited(address indexed owner, uint256 amount, uint256 unlockAt);
    event Withdrawn(address indexed owner, uint256 amount);

    error Locked(uint256 until);
    error NotKeeper();

    constructor(uint256 delay_) {
        keeper = msg.sender;
        delay = delay_;
    }

    function deposit() external payable {
        balanceOf[msg.sender] += msg.value;
        unlockAt[msg.sender] = block.timestamp + delay;
        emit Deposited(msg.sender, msg.value, unlockAt[msg.sender]);
    }

    function withdraw() external {
        if (block.timestamp < unlockAt[msg.sender]) revert Locked(unlockAt[msg.sender]);
        uint256 amount = balanceOf[msg.sender];
        balanceOf[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        require(ok, "transfer failed");
    }

    function setDelay(uint256 delay_) external {
        if (msg.sender != keeper) revert NotKeeper();
        delay = delay_;
    }
}

/// A counter that names the vault it was deployed beside, so a script deploys two contracts
/// that refer to each other.
contract Counter {
    Vault public immutable vault;
    uint256 public count;

    constructor(Vault vault_) {
        vault = vault_;
    }

    function increment() external returns (uint256) {
        return ++count;
    }
}
