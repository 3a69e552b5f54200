// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.37;

/// @title The sotto adjudicator
/// @notice Holds the deposits of sotto's state channels, pays out a
/// cooperative close at once, and settles a dispute on the latest state
/// every participant signed. The rules are those of the in-memory chain
/// (engine/src/anchor/test_chain.rs), plus what only a chain can check:
/// the channel names this contract and this chain.
///
/// Storage per channel, and nothing else:
///   funds[k]    two parties' amounts, 120 bits each: party 2k in bits
///               0..119, party 2k+1 in bits 120..239. They are deposits
///               while the channel is open and what is still owed once it
///               is concluded. Bit 255 of funds[0] marks the conclusion.
///   dispute     version (bits 0..63) | until (bits 64..127) | bit 128
///               set while a state is registered.
///   registered  keccak256(abi.encode(state)) of the registered state.
/// A registered state's allocation is not stored: finalize takes the
/// state again and checks it against the hash. The hash keeps all 256
/// bits (a word of its own): packed beside version and until, it would
/// keep 128 to 144, and a participant who picks the blinding of a state's
/// commitments could search for two states, one signed and one not, with
/// the same truncated hash at 2^64 to 2^72 work. The word costs 22.1k gas
/// on a dispute's first registration, and is freed (refunded) by finalize.
///
/// Payouts: a cooperative close pays every party at once, each with the
/// 2300-gas stipend only; a recipient that refuses (a contract that
/// reverts or needs more gas) is credited for `withdraw` instead, which
/// forwards all gas. A dispute's settlement is paid by `withdraw`.
///
/// Calldata: the channel id and the state digest are hashed straight from
/// the calldata, which must therefore be the canonical ABI encoding
/// (`NonCanonical` otherwise; every ABI encoder produces it).
///
/// Assets: the channel's asset is part of its parameters (and so of its
/// id); only the chain's coin (address(0)) is accepted now. An ERC-20
/// needs only a transferFrom in deposit and a transfer in the payouts:
/// the amounts and their storage are the same.
contract Adjudicator {
    /// What fixes a channel; its id is keccak256(abi.encode(params)).
    struct Params {
        address[] participants;
        uint256 nonce;
        uint64 challengePeriod;
        bytes32 contractId;
        address asset;
        address adjudicator;
        uint256 chainId;
    }

    /// A state of a channel, as every participant signs it:
    /// the 65-byte r ‖ s ‖ v signature of keccak256(abi.encode(state)),
    /// with no EIP-191 prefix (the channel id already binds the chain and
    /// this contract).
    struct State {
        bytes32 channelId;
        uint64 version;
        bytes32 commitment;
        uint256[] allocation;
        bool isFinal;
    }

    struct Channel {
        mapping(uint256 => uint256) funds;
        uint256 dispute;
        bytes32 registered;
    }

    /// `party`'s deposits now total `total`.
    event Deposited(bytes32 indexed channelId, uint256 party, uint256 total);
    /// `state` was registered; it may be refuted until `until`.
    event Registered(bytes32 indexed channelId, State state, uint64 until);
    /// The channel is settled: each party is owed its `allocation` entry.
    event Concluded(bytes32 indexed channelId, uint256[] allocation, bool cooperative);
    /// `party` was paid `amount`.
    event Withdrawn(bytes32 indexed channelId, uint256 party, uint256 amount);

    /// The parameters name another adjudicator.
    error WrongAdjudicator(address adjudicator);
    /// The parameters name another chain.
    error WrongChain(uint256 chainId);
    /// The calldata is not the canonical ABI encoding of the parameters or
    /// the state (so it would hash to an id or digest of nothing).
    error NonCanonical();
    /// The parameters name an asset this adjudicator does not hold yet.
    error AssetNotSupported(address asset);
    /// No such party in the channel.
    error UnknownParty(uint256 party);
    /// A party's deposits would exceed 2^120 - 1.
    error DepositOverflow(uint256 party);
    /// The channel is already concluded.
    error ChannelConcluded();
    /// The state names another channel.
    error WrongChannel();
    /// `sigs` is not 65 bytes per participant.
    error SignatureCount(uint256 length);
    /// `party`'s signature is malformed, high-s, or not its own.
    error BadSignature(uint256 party);
    /// The allocation has the wrong length or pays more than the deposits.
    error BadAllocation();
    /// A cooperative close needs a final state.
    error NotFinal();
    /// A state with version `registered` (or higher) is registered already.
    error Stale(uint64 registered);
    /// The challenge period ended at `until`: too late to refute.
    error PeriodOver(uint64 until);
    /// The challenge period ends at `until`: too early to finalize.
    error PeriodNotOver(uint64 until);
    /// Nothing is registered to finalize.
    error NoDispute();
    /// The state given is not the registered one.
    error NotRegistered();
    /// Nothing (more) to withdraw for `party`.
    error NothingToWithdraw(uint256 party);
    /// Paying `party` failed; it is still owed.
    error PayoutFailed(uint256 party);
    /// A time-bounded state registered outside its window: before
    /// `notBefore`, or at or after `notAfter` (0: no end).
    error OutsideWindow(uint64 notBefore, uint64 notAfter);

    /// secp256k1n / 2: a larger s is the malleable twin of a valid signature.
    uint256 private constant HALF_ORDER = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;
    uint256 private constant AMOUNT_BITS = 120;
    uint256 private constant AMOUNT_MASK = (1 << 120) - 1;
    uint256 private constant CONCLUDED = 1 << 255;
    uint256 private constant REGISTERED = 1 << 128;
    /// keccak256("sotto/timed-state/v1"): separates the digests of
    /// time-bounded states from every plain state digest.
    bytes32 private constant TIMED = keccak256("sotto/timed-state/v1");

    mapping(bytes32 => Channel) private channels;

    /// keccak256(abi.encode(p)).
    function channelId(Params calldata p) public pure returns (bytes32) {
        return idOf(p, p.participants);
    }

    /// keccak256(abi.encode(s)): the digest every participant signs.
    function stateDigest(State calldata s) public pure returns (bytes32) {
        return digestOf(s);
    }

    /// keccak256(abi.encode(TIMED, stateDigest(s), notBefore, notAfter)):
    /// what every participant signs of a time-bounded state.
    function timedDigest(bytes32 digest, uint64 notBefore, uint64 notAfter)
        public
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(TIMED, digest, notBefore, notAfter));
    }

    /// Credits msg.value to `party`'s deposit.
    function deposit(Params calldata p, uint256 party) external payable {
        (bytes32 cid, address[] calldata who) = bind(p);
        Channel storage c = channels[cid];
        uint256 first = c.funds[0];
        if (first & CONCLUDED != 0) revert ChannelConcluded();
        if (party >= who.length) revert UnknownParty(party);
        uint256 k = party >> 1;
        uint256 shift = (party & 1) * AMOUNT_BITS;
        uint256 word = k == 0 ? first : c.funds[k];
        uint256 total = ((word >> shift) & AMOUNT_MASK) + msg.value;
        if (total > AMOUNT_MASK) revert DepositOverflow(party);
        c.funds[k] = (word & ~(AMOUNT_MASK << shift)) | (total << shift);
        emit Deposited(cid, party, total);
    }

    /// Cooperative close on a final state every participant signed; pays
    /// every party at once. A payment the recipient refuses (or that needs
    /// more than the 2300-gas stipend) is kept for `withdraw` instead, so
    /// no recipient can block the others.
    function conclude(Params calldata p, State calldata s, bytes calldata sigs) external {
        (bytes32 cid, address[] calldata who) = bind(p);
        Channel storage c = channels[cid];
        uint256 first = c.funds[0];
        if (first & CONCLUDED != 0) revert ChannelConcluded();
        (, bool over) = check(who, cid, c, first, s, sigs, false, 0, 0);
        if (!s.isFinal) revert NotFinal();
        uint256 n = who.length;
        // Step 1) settle: the allocation, or (a version-0 state beyond the
        // deposits) each party's own deposit back.
        uint256[] memory owed = settlement(c, first, n, s.allocation, over);
        // Step 2) effects: concluded, nothing left owed.
        c.funds[0] = CONCLUDED;
        for (uint256 k = 1; k < (n + 1) >> 1; ++k) {
            if (c.funds[k] != 0) c.funds[k] = 0;
        }
        emit Concluded(cid, owed, true);
        // Step 3) interactions: pay with the stipend only; a refusal is
        // credited back for withdraw.
        for (uint256 i = 0; i < n; ++i) {
            uint256 amount = owed[i];
            if (amount == 0) continue;
            if (send(who[i], amount, 0)) {
                emit Withdrawn(cid, i, amount);
            } else {
                c.funds[i >> 1] |= amount << ((i & 1) * AMOUNT_BITS);
            }
        }
    }

    /// Registers a fully signed state: the first one starts the challenge
    /// period; inside it, a higher version refutes the registered one
    /// (the period is not extended).
    function register(Params calldata p, State calldata s, bytes calldata sigs) external {
        (bytes32 cid, address[] calldata who) = bind(p);
        Channel storage c = channels[cid];
        uint256 first = c.funds[0];
        if (first & CONCLUDED != 0) revert ChannelConcluded();
        (bytes32 digest,) = check(who, cid, c, first, s, sigs, false, 0, 0);
        record(p, c, cid, s, digest);
    }

    /// Registers a fully signed time-bounded state, as `register` does a
    /// plain one, but only at notBefore <= block.timestamp < notAfter
    /// (notAfter 0: no end). Its participants signed
    /// timedDigest(stateDigest(s), notBefore, notAfter), so the same
    /// signatures are worth nothing to `register` or `conclude`, and no
    /// one can move the window. A refund that applies only after a
    /// deadline, or a swap offer that lapses at one, is such a state.
    function registerTimed(
        Params calldata p,
        State calldata s,
        uint64 notBefore,
        uint64 notAfter,
        bytes calldata sigs
    ) external {
        (bytes32 cid, address[] calldata who) = bind(p);
        Channel storage c = channels[cid];
        uint256 first = c.funds[0];
        if (first & CONCLUDED != 0) revert ChannelConcluded();
        if (block.timestamp < notBefore || (notAfter != 0 && block.timestamp >= notAfter)) {
            revert OutsideWindow(notBefore, notAfter);
        }
        (bytes32 digest,) = check(who, cid, c, first, s, sigs, true, notBefore, notAfter);
        record(p, c, cid, s, digest);
    }

    /// The dispute's bookkeeping for a state whose checks passed: the first
    /// registration starts the challenge period; inside it, only a higher
    /// version refutes (the period is not extended).
    function record(
        Params calldata p,
        Channel storage c,
        bytes32 cid,
        State calldata s,
        bytes32 digest
    ) private {
        uint256 d = c.dispute;
        uint64 until;
        if (d & REGISTERED != 0) {
            until = uint64(d >> 64);
            if (block.timestamp >= until) revert PeriodOver(until);
            uint64 old = uint64(d);
            if (s.version <= old) revert Stale(old);
        } else {
            uint256 end = block.timestamp + p.challengePeriod;
            until = end > type(uint64).max ? type(uint64).max : uint64(end);
        }
        c.dispute = REGISTERED | (uint256(until) << 64) | s.version;
        c.registered = digest;
        emit Registered(cid, s, until);
    }

    /// After the challenge period: settles on the registered state, which
    /// the caller gives again (only its hash is stored).
    function finalize(Params calldata p, State calldata s) external {
        (bytes32 cid, address[] calldata who) = bind(p);
        Channel storage c = channels[cid];
        uint256 first = c.funds[0];
        if (first & CONCLUDED != 0) revert ChannelConcluded();
        uint256 d = c.dispute;
        if (d & REGISTERED == 0) revert NoDispute();
        if (digestOf(s) != c.registered) revert NotRegistered();
        uint64 until = uint64(d >> 64);
        if (block.timestamp < until) revert PeriodNotOver(until);
        uint256 n = who.length;
        uint256[] calldata allocation = s.allocation;
        bool over = exceeds(allocation, heldBy(c, first, n));
        uint256[] memory owed = settlement(c, first, n, allocation, over);
        // The owed amounts replace the deposits in the same words.
        for (uint256 k = 0; k < (n + 1) >> 1; ++k) {
            uint256 i = k << 1;
            uint256 word = owed[i];
            if (i + 1 < n) word |= owed[i + 1] << AMOUNT_BITS;
            if (k == 0) {
                c.funds[0] = word | CONCLUDED;
            } else if (c.funds[k] != word) {
                c.funds[k] = word;
            }
        }
        // The dispute is over for good: free its slots.
        c.dispute = 0;
        c.registered = 0;
        emit Concluded(cid, owed, false);
    }

    /// Pays participants[party] what the concluded channel still owes it.
    function withdraw(Params calldata p, uint256 party) external {
        (bytes32 cid, address[] calldata who) = bind(p);
        Channel storage c = channels[cid];
        uint256 first = c.funds[0];
        if (first & CONCLUDED == 0 || party >= who.length) revert NothingToWithdraw(party);
        uint256 k = party >> 1;
        uint256 shift = (party & 1) * AMOUNT_BITS;
        uint256 word = k == 0 ? first : c.funds[k];
        uint256 amount = (word >> shift) & AMOUNT_MASK;
        if (amount == 0) revert NothingToWithdraw(party);
        c.funds[k] = word & ~(AMOUNT_MASK << shift);
        if (!send(who[party], amount, gasleft())) revert PayoutFailed(party);
        emit Withdrawn(cid, party, amount);
    }

    /// The checks every call makes of the parameters; returns the channel
    /// id and the participants.
    function bind(Params calldata p) private view returns (bytes32 id, address[] calldata who) {
        if (p.adjudicator != address(this)) revert WrongAdjudicator(p.adjudicator);
        if (p.chainId != block.chainid) revert WrongChain(p.chainId);
        if (p.asset != address(0)) revert AssetNotSupported(p.asset);
        who = p.participants;
        id = idOf(p, who);
    }

    /// keccak256(abi.encode(p)), hashed straight from the calldata. The
    /// ABI encoder would copy the very same bytes (an offset word, then
    /// the tuple) once the calldata is canonical, so that is checked
    /// instead: the array right after the head, every address and the
    /// uint64 without dirty high bits. Saves 0.6k to 1.4k gas a call
    /// (measured: the encoder validates and copies field by field).
    function idOf(Params calldata p, address[] calldata who) private pure returns (bytes32 id) {
        bool dirty;
        assembly ("memory-safe") {
            let n := who.length
            // Head: participants (offset), nonce, challengePeriod,
            // contractId, asset, adjudicator, chainId; then the length.
            dirty := iszero(eq(who.offset, add(p, 0x100)))
            dirty := or(dirty, shr(64, calldataload(add(p, 0x40))))
            dirty := or(dirty, shr(160, calldataload(add(p, 0x80))))
            dirty := or(dirty, shr(160, calldataload(add(p, 0xa0))))
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                dirty := or(dirty, shr(160, calldataload(add(who.offset, shl(5, i)))))
            }
            let len := add(0x100, shl(5, n))
            let m := mload(0x40)
            mstore(m, 0x20)
            calldatacopy(add(m, 0x20), p, len)
            id := keccak256(m, add(len, 0x20))
        }
        if (dirty) revert NonCanonical();
    }

    /// keccak256(abi.encode(s)), hashed straight from the canonical
    /// calldata as `idOf` does: the array right after the head, the uint64
    /// and the bool clean.
    function digestOf(State calldata s) private pure returns (bytes32 digest) {
        uint256[] calldata allocation = s.allocation;
        bool dirty;
        assembly ("memory-safe") {
            // Head: channelId, version, commitment, allocation (offset),
            // isFinal; then the length.
            dirty := iszero(eq(allocation.offset, add(s, 0xc0)))
            dirty := or(dirty, shr(64, calldataload(add(s, 0x20))))
            dirty := or(dirty, gt(calldataload(add(s, 0x80)), 1))
            let len := add(0xc0, shl(5, allocation.length))
            let m := mload(0x40)
            mstore(m, 0x20)
            calldatacopy(add(m, 0x20), s, len)
            digest := keccak256(m, add(len, 0x20))
        }
        if (dirty) revert NonCanonical();
    }

    /// The checks every signed state passes (test_chain.rs `check_state`,
    /// in its order): the channel, one valid low-s signature per
    /// participant, an allocation of one entry per participant within the
    /// deposits (version 0 excepted: see `settlement`). The signatures are
    /// of the state's digest, or, for a time-bounded state (`timed`), of
    /// timedDigest(digest, notBefore, notAfter). Returns the state's digest.
    function check(
        address[] calldata who,
        bytes32 cid,
        Channel storage c,
        uint256 first,
        State calldata s,
        bytes calldata sigs,
        bool timed,
        uint64 notBefore,
        uint64 notAfter
    ) private view returns (bytes32 digest, bool over) {
        // Step 1) the state is this channel's.
        if (s.channelId != cid) revert WrongChannel();
        // Step 2) one 65-byte r ‖ s ‖ v signature per participant.
        uint256 n = who.length;
        if (sigs.length != 65 * n) revert SignatureCount(sigs.length);
        digest = digestOf(s);
        bytes32 signed = timed ? timedDigest(digest, notBefore, notAfter) : digest;
        for (uint256 i = 0; i < n; ++i) {
            bytes32 r;
            uint256 high;
            uint8 v;
            assembly ("memory-safe") {
                let at := add(sigs.offset, mul(i, 65))
                r := calldataload(at)
                high := calldataload(add(at, 32))
                v := byte(0, calldataload(add(at, 64)))
            }
            // Step 2.a) v is 27 or 28 and s is low: one signature per
            // signer and state, no malleable twin. (One comparison for v,
            // so that the gas does not depend on which v a signer got.)
            unchecked {
                if (uint256(v) - 27 > 1 || high > HALF_ORDER) revert BadSignature(i);
            }
            // Step 2.b) it recovers to the participant (ecrecover's 0 for
            // "no key" never matches: a zero participant would).
            address signer = ecrecover(signed, v, r, bytes32(high));
            if (signer == address(0) || signer != who[i]) revert BadSignature(i);
        }
        // Step 3) one entry per participant, within the deposits but at
        // version 0.
        if (s.allocation.length != n) revert BadAllocation();
        over = exceeds(s.allocation, heldBy(c, first, n));
        if (over && s.version > 0) revert BadAllocation();
    }

    /// What the channel's parties have deposited, in total.
    function heldBy(Channel storage c, uint256 first, uint256 n) private view returns (uint256 held) {
        for (uint256 k = 0; k < (n + 1) >> 1; ++k) {
            uint256 word = k == 0 ? first : c.funds[k];
            held += (word & AMOUNT_MASK) + ((word >> AMOUNT_BITS) & AMOUNT_MASK);
        }
    }

    /// Whether the allocation cannot be paid as it is: it pays out more
    /// than `held` in total, or one entry does not fit the 120 bits an
    /// amount is stored in (unreachable with ether: 2^120 wei is 10^18
    /// times its supply). Computed without overflow.
    function exceeds(uint256[] calldata allocation, uint256 held) private pure returns (bool) {
        uint256 sum = 0;
        for (uint256 i = 0; i < allocation.length; ++i) {
            uint256 a = allocation[i];
            // sum ≤ held and a ≤ held: the addition cannot overflow.
            if (a > held || a > AMOUNT_MASK) return true;
            sum += a;
            if (sum > held) return true;
        }
        return false;
    }

    /// What each party is owed when the channel settles on `allocation`:
    /// the allocation itself, or, if it cannot be paid (`over`: only a
    /// version-0 state of a channel never fully funded gets this far),
    /// each party's own deposit back.
    function settlement(
        Channel storage c,
        uint256 first,
        uint256 n,
        uint256[] calldata allocation,
        bool over
    ) private view returns (uint256[] memory owed) {
        owed = new uint256[](n);
        if (over) {
            for (uint256 i = 0; i < n; ++i) {
                uint256 word = i < 2 ? first : c.funds[i >> 1];
                owed[i] = (word >> ((i & 1) * AMOUNT_BITS)) & AMOUNT_MASK;
            }
        } else {
            for (uint256 i = 0; i < n; ++i) {
                owed[i] = allocation[i];
            }
        }
    }

    /// Sends `amount` wei to `to` with `gasLimit` gas (0: the 2300 stipend
    /// only), ignoring any return data; whether it was accepted.
    function send(address to, uint256 amount, uint256 gasLimit) private returns (bool ok) {
        assembly ("memory-safe") {
            ok := call(gasLimit, to, amount, 0, 0, 0, 0)
        }
    }
}
