// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// StandardBridge: moves ERC-20 tokens between the layers over the messengers. The same contract
/// sits on each layer: L1 0x000000000000000000000000000000000000b0a6, L2
/// 0x4200000000000000000000000000000000000010 (EVM code, built from contracts/src).
///
/// A token native to this layer is locked here (the bridge measures what it received and refuses a
/// token that delivers less than the amount, such as a fee-on-transfer token) and minted on the other
/// layer as a BridgedERC20 the other bridge deploys on first use at a CREATE2 address fixed by the
/// native token (`representationOf`), with the native token's name, symbol and decimals. A
/// representation bridged back is burnt here and released there from what that token locked.
/// A rebasing token is not supported: its locked balance changes under the bridge, and what is
/// released is what was deposited.
interface IStandardBridge {
    /// Sends `amount` of `localToken` (native here, or a representation this bridge minted) to `to`
    /// on the other layer. A native token needs an allowance to this bridge first.
    function bridgeERC20To(address localToken, address to, uint256 amount, uint32 minGasLimit) external;
    /// The same, to the sender's own address.
    function bridgeERC20(address localToken, uint256 amount, uint32 minGasLimit) external;

    /// Called by the messenger with a message from the other bridge: mints `amount` of native token
    /// `nativeToken`'s representation to `to`, deploying it first if needed.
    function finalizeMint(
        address nativeToken,
        string calldata name,
        string calldata symbol,
        uint8 decimals,
        address from,
        address to,
        uint256 amount
    ) external;
    /// Called by the messenger with a message from the other bridge: releases `amount` of the locked
    /// native token `nativeToken` to `to`.
    function finalizeRelease(address nativeToken, address from, address to, uint256 amount) external;

    /// What this bridge holds locked of native token `token`.
    function locked(address token) external view returns (uint256);
    /// The native token (on the other layer) a representation deployed here stands for; zero if
    /// `token` is not one.
    function nativeOf(address token) external view returns (address);
    /// Where this bridge deploys (or deployed) the representation of `nativeToken`, a token native
    /// to the other layer.
    function representationOf(address nativeToken) external view returns (address);
    /// The bridge on the other layer, and this layer's messenger.
    function OTHER_BRIDGE() external view returns (address);
    function MESSENGER() external view returns (address);

    event ERC20BridgeInitiated(
        address indexed localToken, address indexed remoteToken, address indexed from, address to, uint256 amount
    );
    event ERC20BridgeFinalized(
        address indexed localToken, address indexed remoteToken, address indexed from, address to, uint256 amount
    );
    event RepresentationCreated(address indexed nativeToken, address indexed representation, string name, string symbol, uint8 decimals);
}

/// A token native to the other layer, as its bridge mints it here (OP Stack's
/// OptimismMintableERC20 names: `remoteToken`, `bridge`, `mint`, `burn`).
interface IBridgedERC20 {
    function name() external view returns (string memory);
    function symbol() external view returns (string memory);
    function decimals() external view returns (uint8);
    function totalSupply() external view returns (uint256);
    function balanceOf(address owner) external view returns (uint256);
    function allowance(address owner, address spender) external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
    function transferFrom(address from, address to, uint256 amount) external returns (bool);
    function approve(address spender, uint256 amount) external returns (bool);
    /// The native token on the other layer.
    function remoteToken() external view returns (address);
    /// The bridge that mints and burns this token.
    function bridge() external view returns (address);
    function mint(address to, uint256 amount) external;
    function burn(address from, uint256 amount) external;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Approval(address indexed owner, address indexed spender, uint256 value);
}
