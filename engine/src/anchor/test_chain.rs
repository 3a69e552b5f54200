//! The adjudicator's rules in memory: see [`TestChain`].

use std::collections::HashMap;

use super::{Anchor, AnchorCall, AnchorError, ChainEvent, Receipt};
use crate::state::{Address, ChannelParams, Signature, State, Window, recover};

/// The test chain's (nominal) adjudicator address.
const TEST_ADJUDICATOR: Address = Address([0xad; 20]);
/// The test chain's id (anvil's default, like the embedded chain's).
const TEST_CHAIN_ID: u64 = 31337;

/// One channel on the test chain.
#[derive(Debug, Clone, Default)]
struct OnChain {
    deposits: Vec<u64>,
    registered: Option<(State, u64)>,
    owed: Option<Vec<u64>>,
    paid: Vec<u64>,
    log: Vec<ChainEvent>,
}

/// An in-memory chain that applies the adjudicator's rules, with a clock
/// the test moves ([`TestChain::advance`]). Every accepted call appends
/// the events the adjudicator would emit.
#[derive(Debug, Clone, Default)]
pub struct TestChain {
    now: u64,
    channels: HashMap<[u8; 32], OnChain>,
    submitted: u64,
}

impl TestChain {
    /// An empty chain at time 0.
    pub fn new() -> Self {
        TestChain::default()
    }

    /// Moves the clock forward by `seconds`.
    pub fn advance(&mut self, seconds: u64) {
        self.now = self.now.saturating_add(seconds);
    }

    /// What each party of the channel has deposited.
    pub fn deposits(&self, channel_id: &[u8; 32]) -> Vec<u64> {
        self.channels
            .get(channel_id)
            .map(|c| c.deposits.clone())
            .unwrap_or_default()
    }

    /// What each party of the channel has been paid.
    pub fn paid(&self, channel_id: &[u8; 32]) -> Vec<u64> {
        self.channels
            .get(channel_id)
            .map(|c| c.paid.clone())
            .unwrap_or_default()
    }

    /// The settled allocation, once the channel is concluded.
    pub fn concluded(&self, channel_id: &[u8; 32]) -> Option<Vec<u64>> {
        self.channels.get(channel_id).and_then(|c| c.owed.clone())
    }

    /// The registered version, during a dispute.
    pub fn registered(&self, channel_id: &[u8; 32]) -> Option<u64> {
        self.channels
            .get(channel_id)
            .and_then(|c| c.registered.as_ref().map(|(s, _)| s.version))
    }

    /// How many calls the chain accepted (every one a transaction).
    pub fn transactions(&self) -> u64 {
        self.submitted
    }
}

/// The checks every signed state passes: the channel, one valid low-s
/// signature per participant, an allocation within the deposits.
fn check_state(
    params: &ChannelParams,
    c: &OnChain,
    state: &State,
    signatures: &[Signature],
    window: Option<&Window>,
) -> Result<(), AnchorError> {
    if state.channel_id != params.channel_id() {
        return Err(AnchorError::WrongChannel);
    }
    if signatures.len() != params.participants.len() {
        return Err(AnchorError::BadSignature);
    }
    let digest = match window {
        Some(w) => state.timed_digest(w),
        None => state.digest(),
    };
    for (who, sig) in params.participants.iter().zip(signatures) {
        if recover(&digest, sig).ok().as_ref() != Some(who) {
            return Err(AnchorError::BadSignature);
        }
    }
    let held: u128 = c.deposits.iter().map(|d| u128::from(*d)).sum();
    let paid: u128 = state.allocation.iter().map(|a| u128::from(*a)).sum();
    // Version 0 pays back the agreed deposits; a channel that was never
    // fully funded settles on it by refunding what each party did deposit
    // (see `Finalize`). Every later state must be covered in full: no
    // update happens before every deposit is confirmed.
    if state.allocation.len() != params.participants.len() || (paid > held && state.version > 0) {
        return Err(AnchorError::BadAllocation);
    }
    Ok(())
}

/// A registration, plain or time-bounded (in the adjudicator's order: the
/// window, then the state's checks, then the dispute's).
fn register(
    params: &ChannelParams,
    c: &mut OnChain,
    now: u64,
    state: &State,
    signatures: &[Signature],
    window: Option<&Window>,
) -> Result<(), AnchorError> {
    if let Some(w) = window
        && !w.contains(now)
    {
        return Err(AnchorError::OutsideWindow {
            not_before: w.not_before,
            not_after: w.not_after,
        });
    }
    check_state(params, c, state, signatures, window)?;
    let until = match &c.registered {
        Some((old, until)) => {
            if now >= *until {
                return Err(AnchorError::Period("is over"));
            }
            if state.version <= old.version {
                return Err(AnchorError::Stale {
                    registered: old.version,
                });
            }
            *until
        }
        None => now.saturating_add(params.challenge_period),
    };
    c.registered = Some((state.clone(), until));
    c.log.push(ChainEvent::Registered {
        state: state.clone(),
        until,
    });
    Ok(())
}

impl Anchor for TestChain {
    fn submit(
        &mut self,
        params: &ChannelParams,
        call: &AnchorCall,
    ) -> Result<Receipt, AnchorError> {
        let n = params.participants.len();
        let now = self.now;
        let c = self
            .channels
            .entry(params.channel_id())
            .or_insert_with(|| OnChain {
                deposits: vec![0; n],
                paid: vec![0; n],
                ..OnChain::default()
            });
        if c.owed.is_some() && !matches!(call, AnchorCall::Withdraw { .. }) {
            return Err(AnchorError::Concluded);
        }
        match call {
            AnchorCall::Deposit { party, amount } => {
                let d = c
                    .deposits
                    .get_mut(*party as usize)
                    .ok_or(AnchorError::UnknownParty(*party))?;
                *d = d
                    .checked_add(*amount)
                    .ok_or(AnchorError::Backend("deposit overflows".into()))?;
                let total = *d;
                c.log.push(ChainEvent::Deposited {
                    party: *party,
                    total,
                });
            }
            AnchorCall::Conclude { state, signatures } => {
                check_state(params, c, state, signatures, None)?;
                if !state.is_final {
                    return Err(AnchorError::NotFinal);
                }
                // As on chain: version 0 of a never fully funded channel
                // refunds each party's own deposit.
                let held: u128 = c.deposits.iter().map(|d| u128::from(*d)).sum();
                let paid: u128 = state.allocation.iter().map(|a| u128::from(*a)).sum();
                let allocation = if paid > held {
                    c.deposits.clone()
                } else {
                    state.allocation.clone()
                };
                c.owed = Some(allocation.clone());
                c.log.push(ChainEvent::Concluded {
                    allocation: allocation.clone(),
                    cooperative: true,
                });
                // A cooperative close pays out at once.
                for (party, amount) in allocation.iter().enumerate() {
                    if *amount > 0 {
                        c.paid[party] = *amount;
                        c.log.push(ChainEvent::Withdrawn {
                            party: u32::try_from(party).unwrap_or(u32::MAX),
                            amount: *amount,
                        });
                    }
                }
            }
            AnchorCall::Register { state, signatures } => {
                register(params, c, now, state, signatures, None)?;
            }
            AnchorCall::RegisterTimed {
                state,
                window,
                signatures,
            } => {
                register(params, c, now, state, signatures, Some(window))?;
            }
            AnchorCall::Finalize { state: claimed } => {
                let Some((state, until)) = &c.registered else {
                    return Err(AnchorError::NoDispute);
                };
                if claimed != state {
                    return Err(AnchorError::NotRegistered);
                }
                if now < *until {
                    return Err(AnchorError::Period("is not over"));
                }
                let held: u128 = c.deposits.iter().map(|d| u128::from(*d)).sum();
                let paid: u128 = state.allocation.iter().map(|a| u128::from(*a)).sum();
                let allocation = if paid > held {
                    c.deposits.clone()
                } else {
                    state.allocation.clone()
                };
                c.owed = Some(allocation.clone());
                c.log.push(ChainEvent::Concluded {
                    allocation,
                    cooperative: false,
                });
            }
            AnchorCall::Withdraw { party } => {
                let i = *party as usize;
                let owed = c
                    .owed
                    .as_ref()
                    .and_then(|o| o.get(i).copied())
                    .ok_or(AnchorError::NothingToWithdraw(*party))?;
                let paid = c.paid.get_mut(i).ok_or(AnchorError::UnknownParty(*party))?;
                if owed == 0 || *paid >= owed {
                    return Err(AnchorError::NothingToWithdraw(*party));
                }
                *paid = owed;
                c.log.push(ChainEvent::Withdrawn {
                    party: *party,
                    amount: owed,
                });
            }
        }
        self.submitted += 1;
        Ok(Receipt::default())
    }

    fn events(
        &mut self,
        channel_id: &[u8; 32],
        from: usize,
    ) -> Result<(Vec<ChainEvent>, usize), AnchorError> {
        let log = self
            .channels
            .get(channel_id)
            .map(|c| c.log.as_slice())
            .unwrap_or_default();
        let from = from.min(log.len());
        Ok((log[from..].to_vec(), log.len()))
    }

    fn now(&self) -> u64 {
        self.now
    }

    fn advance(&mut self, seconds: u64) -> Result<(), AnchorError> {
        TestChain::advance(self, seconds);
        Ok(())
    }

    fn adjudicator(&self) -> Address {
        TEST_ADJUDICATOR
    }

    fn chain_id(&self) -> u64 {
        TEST_CHAIN_ID
    }
}
