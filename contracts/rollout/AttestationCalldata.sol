// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @dev A relayed attestation, packed in calldata: the offset of its first byte.
type PackedAttestation is uint256;

using AttestationCalldata for PackedAttestation global;

/// @title Attestation calldata
/// @notice Reads the packed attestations of a relayed batch where they lie in calldata, field by field, without
/// copying them to memory. An item is ITEM_SIZE bytes, big-endian, with no padding:
///
/// | offset | bytes | field         |
/// |--------|-------|---------------|
/// |      0 |    20 | operator      |
/// |     20 |     4 | upgradeId     |
/// |     24 |     1 | stage         |
/// |     25 |     1 | status        |
/// |     26 |    32 | version       |
/// |     58 |     8 | height        |
/// |     66 |    32 | metricsDigest |
/// |     98 |     5 | issuedAt      |
/// |    103 |     5 | deadline      |
/// |    108 |    32 | r             |
/// |    140 |    32 | vs            | (EIP-2098 compact signature)
///
/// @dev Every accessor loads the 32 bytes starting at its field and shifts the field down, so a field of `n` bytes
/// is read with `shr(256 - 8n, calldataload(item + OFFSET))`. The batch's length is checked (a whole number of
/// items) before any item is read.
library AttestationCalldata {
    uint256 internal constant ITEM_SIZE = 172;

    uint256 internal constant OPERATOR_OFFSET = 0;
    uint256 internal constant UPGRADE_ID_OFFSET = 20;
    uint256 internal constant STAGE_OFFSET = 24;
    uint256 internal constant STATUS_OFFSET = 25;
    uint256 internal constant VERSION_OFFSET = 26;
    uint256 internal constant HEIGHT_OFFSET = 58;
    uint256 internal constant METRICS_DIGEST_OFFSET = 66;
    uint256 internal constant ISSUED_AT_OFFSET = 98;
    uint256 internal constant DEADLINE_OFFSET = 103;
    uint256 internal constant R_OFFSET = 108;
    uint256 internal constant VS_OFFSET = 140;

    /// @dev The number of items in `batch`, or 0 when its length is not a whole number of items.
    function countOf(bytes calldata batch) internal pure returns (uint256 count) {
        count = batch.length / ITEM_SIZE;
        if (count * ITEM_SIZE != batch.length) count = 0;
    }

    /// @dev Item `i` of `batch` (unchecked: `i` must be below countOf(batch)).
    function at(bytes calldata batch, uint256 i) internal pure returns (PackedAttestation item) {
        assembly ("memory-safe") {
            item := add(batch.offset, mul(i, ITEM_SIZE))
        }
    }

    function operator(PackedAttestation item) internal pure returns (address value) {
        assembly ("memory-safe") {
            value := shr(96, calldataload(add(item, OPERATOR_OFFSET)))
        }
    }

    function upgradeId(PackedAttestation item) internal pure returns (uint32 value) {
        assembly ("memory-safe") {
            value := shr(224, calldataload(add(item, UPGRADE_ID_OFFSET)))
        }
    }

    function stage(PackedAttestation item) internal pure returns (uint8 value) {
        assembly ("memory-safe") {
            value := shr(248, calldataload(add(item, STAGE_OFFSET)))
        }
    }

    /// @dev The raw status byte: the caller checks it names a Status before converting.
    function status(PackedAttestation item) internal pure returns (uint8 value) {
        assembly ("memory-safe") {
            value := shr(248, calldataload(add(item, STATUS_OFFSET)))
        }
    }

    function version(PackedAttestation item) internal pure returns (bytes32 value) {
        assembly ("memory-safe") {
            value := calldataload(add(item, VERSION_OFFSET))
        }
    }

    function height(PackedAttestation item) internal pure returns (uint64 value) {
        assembly ("memory-safe") {
            value := shr(192, calldataload(add(item, HEIGHT_OFFSET)))
        }
    }

    function metricsDigest(PackedAttestation item) internal pure returns (bytes32 value) {
        assembly ("memory-safe") {
            value := calldataload(add(item, METRICS_DIGEST_OFFSET))
        }
    }

    function issuedAt(PackedAttestation item) internal pure returns (uint40 value) {
        assembly ("memory-safe") {
            value := shr(216, calldataload(add(item, ISSUED_AT_OFFSET)))
        }
    }

    function deadline(PackedAttestation item) internal pure returns (uint40 value) {
        assembly ("memory-safe") {
            value := shr(216, calldataload(add(item, DEADLINE_OFFSET)))
        }
    }

    /// @dev The compact signature (EIP-2098): r, and s with v's parity in its top bit.
    function signature(PackedAttestation item) internal pure returns (bytes32 r, bytes32 vs) {
        assembly ("memory-safe") {
            r := calldataload(add(item, R_OFFSET))
            vs := calldataload(add(item, VS_OFFSET))
        }
    }

    /// @dev The EIP-712 hashStruct of the item's Attestation (its first nine fields) under `typeHash`: the
    /// keccak256 of abi.encode(typeHash, operator, upgradeId, stage, status, version, height, metricsDigest,
    /// issuedAt, deadline), built in scratch memory past the free memory pointer, which is left where it was.
    function hashStruct(PackedAttestation item, bytes32 typeHash) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            mstore(add(m, 0x20), shr(96, calldataload(add(item, OPERATOR_OFFSET))))
            mstore(add(m, 0x40), shr(224, calldataload(add(item, UPGRADE_ID_OFFSET))))
            mstore(add(m, 0x60), shr(248, calldataload(add(item, STAGE_OFFSET))))
            mstore(add(m, 0x80), shr(248, calldataload(add(item, STATUS_OFFSET))))
            mstore(add(m, 0xa0), calldataload(add(item, VERSION_OFFSET)))
            mstore(add(m, 0xc0), shr(192, calldataload(add(item, HEIGHT_OFFSET))))
            mstore(add(m, 0xe0), calldataload(add(item, METRICS_DIGEST_OFFSET)))
            mstore(add(m, 0x100), shr(216, calldataload(add(item, ISSUED_AT_OFFSET))))
            mstore(add(m, 0x120), shr(216, calldataload(add(item, DEADLINE_OFFSET))))
            digest := keccak256(m, 0x140)
        }
    }
}
