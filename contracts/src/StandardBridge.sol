// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Addresses} from "./Addresses.sol";

interface IMessenger {
    function sendMessage(address target, bytes calldata message, uint32 minGasLimit) external payable;
    function xDomainMessageSender() external view returns (address);
}

interface IERC20Metadata {
    function name() external view returns (string memory);
    function symbol() external view returns (string memory);
    function decimals() external view returns (uint8);
    function balanceOf(address owner) external view returns (uint256);
}

/// A token native to the other layer, minted and burnt by this layer's bridge (IStandardBridge.sol).
/// Its address is fixed by the native token alone: the bridge deploys it with CREATE2, salt the
/// native token, and no constructor arguments; `initialize` then gives it its metadata.
contract BridgedERC20 {
    address public immutable bridge;
    address public remoteToken;
    string public name;
    string public symbol;
    uint8 public decimals;
    uint256 public totalSupply;
    mapping(address => uint256) public balanceOf;
    mapping(address => mapping(address => uint256)) public allowance;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);

    constructor() {
        bridge = msg.sender;
    }

    modifier onlyBridge() {
        require(msg.sender == bridge, "BridgedERC20: only the bridge");
        _;
    }

    function initialize(address remote, string calldata name_, string calldata symbol_, uint8 decimals_)
        external
        onlyBridge
    {
        require(remoteToken == address(0), "BridgedERC20: initialized");
        remoteToken = remote;
        name = name_;
        symbol = symbol_;
        decimals = decimals_;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        move(msg.sender, to, amount);
        return true;
    }

    function transferFrom(address from, address to, uint256 amount) external returns (bool) {
        uint256 allowed = allowance[from][msg.sender];
        if (allowed != type(uint256).max) {
            require(allowed >= amount, "BridgedERC20: insufficient allowance");
            allowance[from][msg.sender] = allowed - amount;
        }
        move(from, to, amount);
        return true;
    }

    function approve(address spender, uint256 amount) external returns (bool) {
        allowance[msg.sender][spender] = amount;
        emit Approval(msg.sender, spender, amount);
        return true;
    }

    function mint(address to, uint256 amount) external onlyBridge {
        require(to != address(0), "BridgedERC20: mint to the zero address");
        totalSupply += amount;
        balanceOf[to] += amount;
        emit Transfer(address(0), to, amount);
    }

    function burn(address from, uint256 amount) external onlyBridge {
        require(balanceOf[from] >= amount, "BridgedERC20: burn amount exceeds balance");
        balanceOf[from] -= amount;
        totalSupply -= amount;
        emit Transfer(from, address(0), amount);
    }

    function move(address from, address to, uint256 amount) internal {
        require(to != address(0), "BridgedERC20: transfer to the zero address");
        require(balanceOf[from] >= amount, "BridgedERC20: transfer amount exceeds balance");
        balanceOf[from] -= amount;
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}

/// The standard bridge of both layers (IStandardBridge.sol says what it promises). Its storage
/// starts empty: genesis places the runtime code with no constructor run.
abstract contract StandardBridge {
    /// What this bridge holds locked, per native token: a release never takes more than one
    /// token locked, whatever another token does.
    mapping(address => uint256) public locked;
    /// The native token each representation deployed here stands for.
    mapping(address => address) public nativeOf;

    event ERC20BridgeInitiated(
        address indexed localToken, address indexed remoteToken, address indexed from, address to, uint256 amount
    );
    event ERC20BridgeFinalized(
        address indexed localToken, address indexed remoteToken, address indexed from, address to, uint256 amount
    );
    event RepresentationCreated(
        address indexed nativeToken, address indexed representation, string name, string symbol, uint8 decimals
    );

    function MESSENGER() public pure virtual returns (address);
    function OTHER_MESSENGER() internal pure virtual returns (address);
    function OTHER_BRIDGE() public pure virtual returns (address);

    modifier onlyOtherBridge() {
        require(
            msg.sender == MESSENGER() && IMessenger(MESSENGER()).xDomainMessageSender() == OTHER_BRIDGE(),
            "StandardBridge: only the other bridge"
        );
        _;
    }

    function representationOf(address nativeToken) public view returns (address) {
        return representationAt(address(this), nativeToken);
    }

    function bridgeERC20(address localToken, uint256 amount, uint32 minGasLimit) external {
        bridgeERC20To(localToken, msg.sender, amount, minGasLimit);
    }

    function bridgeERC20To(address localToken, address to, uint256 amount, uint32 minGasLimit) public {
        require(amount > 0, "StandardBridge: nothing to bridge");
        // Tokens held by the other bridge or messenger would be anyone's to move with a message.
        require(
            to != address(0) && to != OTHER_BRIDGE() && to != OTHER_MESSENGER(), "StandardBridge: bad recipient"
        );
        address native = nativeOf[localToken];
        bytes memory message;
        address remote;
        if (native != address(0)) {
            // A representation goes home: burnt here, released there.
            BridgedERC20(localToken).burn(msg.sender, amount);
            remote = native;
            message = abi.encodeCall(this.finalizeRelease, (native, msg.sender, to, amount));
        } else {
            require(localToken.code.length > 0, "StandardBridge: not a token");
            uint256 before = IERC20Metadata(localToken).balanceOf(address(this));
            safeTransferFrom(localToken, msg.sender, amount);
            uint256 received = IERC20Metadata(localToken).balanceOf(address(this)) - before;
            require(received == amount, "StandardBridge: the token delivered a different amount");
            locked[localToken] += amount;
            remote = representationAt(OTHER_BRIDGE(), localToken);
            message = abi.encodeCall(
                this.finalizeMint,
                (
                    localToken,
                    IERC20Metadata(localToken).name(),
                    IERC20Metadata(localToken).symbol(),
                    IERC20Metadata(localToken).decimals(),
                    msg.sender,
                    to,
                    amount
                )
            );
        }
        IMessenger(MESSENGER()).sendMessage(OTHER_BRIDGE(), message, minGasLimit);
        emit ERC20BridgeInitiated(localToken, remote, msg.sender, to, amount);
    }

    function finalizeMint(
        address nativeToken,
        string calldata name,
        string calldata symbol,
        uint8 decimals,
        address from,
        address to,
        uint256 amount
    ) external onlyOtherBridge {
        address representation = representationOf(nativeToken);
        if (representation.code.length == 0) {
            BridgedERC20 token = new BridgedERC20{salt: bytes32(uint256(uint160(nativeToken)))}();
            token.initialize(nativeToken, name, symbol, decimals);
            nativeOf[address(token)] = nativeToken;
            emit RepresentationCreated(nativeToken, address(token), name, symbol, decimals);
        }
        BridgedERC20(representation).mint(to, amount);
        emit ERC20BridgeFinalized(representation, nativeToken, from, to, amount);
    }

    function finalizeRelease(address nativeToken, address from, address to, uint256 amount)
        external
        onlyOtherBridge
    {
        require(to != address(this), "StandardBridge: bad recipient");
        locked[nativeToken] -= amount;
        safeTransfer(nativeToken, to, amount);
        emit ERC20BridgeFinalized(nativeToken, representationAt(OTHER_BRIDGE(), nativeToken), from, to, amount);
    }

    function representationAt(address deployer, address nativeToken) internal pure returns (address) {
        bytes32 salt = bytes32(uint256(uint160(nativeToken)));
        bytes32 codeHash = keccak256(type(BridgedERC20).creationCode);
        return address(uint160(uint256(keccak256(abi.encodePacked(bytes1(0xff), deployer, salt, codeHash)))));
    }

    /// ERC-20 transfers that accept tokens returning nothing (USDT) and refuse a false.
    function safeTransfer(address token, address to, uint256 amount) internal {
        (bool ok, bytes memory ret) = token.call(abi.encodeWithSignature("transfer(address,uint256)", to, amount));
        require(ok && (ret.length == 0 || abi.decode(ret, (bool))), "StandardBridge: transfer failed");
    }

    function safeTransferFrom(address token, address from, uint256 amount) internal {
        (bool ok, bytes memory ret) = token.call(
            abi.encodeWithSignature("transferFrom(address,address,uint256)", from, address(this), amount)
        );
        require(ok && (ret.length == 0 || abi.decode(ret, (bool))), "StandardBridge: transferFrom failed");
    }
}

contract L1StandardBridge is StandardBridge {
    function MESSENGER() public pure override returns (address) {
        return Addresses.L1_MESSENGER;
    }

    function OTHER_MESSENGER() internal pure override returns (address) {
        return Addresses.L2_MESSENGER;
    }

    function OTHER_BRIDGE() public pure override returns (address) {
        return Addresses.L2_BRIDGE;
    }
}

contract L2StandardBridge is StandardBridge {
    function MESSENGER() public pure override returns (address) {
        return Addresses.L2_MESSENGER;
    }

    function OTHER_MESSENGER() internal pure override returns (address) {
        return Addresses.L1_MESSENGER;
    }

    function OTHER_BRIDGE() public pure override returns (address) {
        return Addresses.L1_BRIDGE;
    }
}
