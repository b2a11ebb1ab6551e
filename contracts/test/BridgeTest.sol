// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Contracts the bridge's tests deploy (Rust and end to end); contracts/build.mjs builds them into
// contracts/build/test.json.

interface IMessenger {
    function sendMessage(address target, bytes calldata message, uint32 minGasLimit) external payable;
    function xDomainMessageSender() external view returns (address);
}

/// Receives messages: takes a call only from its layer's messenger relaying a message sent by
/// `trusted` on the other layer, as a dApp would.
contract MessageReceiver {
    address public immutable messenger;
    address public trusted;
    uint256 public value;
    uint256 public calls;
    uint256 public received;
    mapping(uint256 => uint256) public scratch;

    event ValueSet(uint256 value, address xDomainSender);

    constructor(address messenger_, address trusted_) {
        messenger = messenger_;
        trusted = trusted_;
    }

    /// Sets `value` after `work` storage writes (gas the message must bring).
    function set(uint256 value_, uint256 work) external payable {
        require(msg.sender == messenger, "MessageReceiver: not the messenger");
        address from = IMessenger(messenger).xDomainMessageSender();
        require(from == trusted, "MessageReceiver: not the trusted sender");
        for (uint256 i = 0; i < work; i++) scratch[i] = value_ + i + 1;
        value = value_;
        calls += 1;
        received += msg.value;
        emit ValueSet(value_, from);
    }

    function fail() external pure {
        revert("MessageReceiver: always fails");
    }
}

/// Sends messages as a contract, so the other side sees this contract as the sender.
contract MessageSender {
    function send(address messenger, address target, bytes calldata message, uint32 minGasLimit) external payable {
        IMessenger(messenger).sendMessage{value: msg.value}(target, message, minGasLimit);
    }
}

/// An ERC-20 anyone can mint, with the metadata the bridge copies.
contract TestToken {
    string public name;
    string public symbol;
    uint8 public decimals;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;
    /// Per mille kept back on every transfer: a fee-on-transfer token when nonzero.
    uint256 public feePerMille;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor(string memory name_, string memory symbol_, uint8 decimals_, uint256 feePerMille_) {
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
        feePerMille = feePerMille_;
    }

    function mint(address to, uint256 amount) external {
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        move(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        require(allowance[from][msg.sender] >= amount, "TestToken: allowance");
        allowance[from][msg.sender] -= amount;
        move(from, to, amount);
        return true;
    }

    function move(address from, address to, uint256 amount) internal {
        require(balanceOf[from] >= amount, "TestToken: balance");
        uint256 fee = amount * feePerMille / 1000;
        balanceOf[from] -= amount;
        balanceOf[to] += amount - fee;
        totalSupply -= fee;
        emit Transfer(from, to, amount - fee);
    }
}
