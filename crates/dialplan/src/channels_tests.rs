use super::*;
use crate::load::default_config;

fn pbx() -> Channels {
    // The default pbx trunk: 48 channels, 4 reserved for transfers.
    Channels::new(&default_config())
}

#[test]
fn the_49th_call_on_48_channels_is_refused_while_transfers_get_the_reserve() {
    let mut ch = pbx();
    let mut held = Vec::new();
    for _ in 0..44 {
        held.push(ch.try_acquire("pbx", Use::Inbound).unwrap());
    }
    // Only the reserve is left: calls are refused, transfers are not.
    assert_eq!(
        ch.try_acquire("pbx", Use::Inbound),
        Err(ChannelError::Full {
            trunk: "pbx".into(),
            in_use: 44,
            limit: 48
        })
    );
    assert!(ch.try_acquire("pbx", Use::Outbound).is_err());
    for _ in 0..4 {
        held.push(ch.try_acquire("pbx", Use::Transfer).unwrap());
    }
    assert_eq!(ch.in_use("pbx"), 48);
    // The 49th call of any kind is refused.
    for u in [Use::Inbound, Use::Outbound, Use::Transfer] {
        assert!(matches!(
            ch.try_acquire("pbx", u),
            Err(ChannelError::Full { in_use: 48, .. })
        ));
    }
    // A transfer ending frees a reserved channel for the next transfer, not for calls.
    assert!(ch.release(held.pop().unwrap()));
    assert!(ch.try_acquire("pbx", Use::Inbound).is_err());
    assert!(ch.try_acquire("pbx", Use::Transfer).is_ok());
}

#[test]
fn release_is_idempotent_and_unknown_trunks_are_an_error() {
    let mut ch = pbx();
    let id = ch.try_acquire("carrier", Use::Outbound).unwrap();
    assert_eq!(ch.in_use("carrier"), 1);
    assert!(ch.release(id));
    assert!(!ch.release(id));
    assert_eq!(ch.in_use("carrier"), 0);
    assert_eq!(
        ch.try_acquire("nowhere", Use::Inbound),
        Err(ChannelError::UnknownTrunk {
            trunk: "nowhere".into()
        })
    );
    let usage = ch.usage();
    assert_eq!(usage[1].trunk, "pbx");
    assert_eq!((usage[1].limit, usage[1].reserve_for_transfers), (48, 4));
}

/// xorshift64: a reproducible sequence without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_traffic_keeps_the_limit_and_the_reserve() {
    for seed in 1..=20u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let mut ch = pbx();
        let (limit, reserve) = (48u32, 4u32);
        let mut held: Vec<(ChannelId, Use)> = Vec::new();
        for _ in 0..5_000 {
            let r = rng.next();
            if r.is_multiple_of(3) && !held.is_empty() {
                let (id, _) = held.swap_remove((r as usize / 3) % held.len());
                assert!(ch.release(id));
            } else {
                let u = [Use::Inbound, Use::Outbound, Use::Transfer][(r % 5 % 3) as usize];
                let in_use = held.len() as u32;
                let free = limit - in_use;
                // The model: transfers take any free channel; calls leave the reserve.
                let expect_ok = match u {
                    Use::Transfer => free >= 1,
                    _ => free > reserve,
                };
                match ch.try_acquire("pbx", u) {
                    Ok(id) => {
                        assert!(expect_ok, "seed {seed}: {u:?} granted with {in_use} in use");
                        held.push((id, u));
                    }
                    Err(ChannelError::Full {
                        in_use: n,
                        limit: l,
                        ..
                    }) => {
                        assert!(
                            !expect_ok,
                            "seed {seed}: {u:?} refused with {in_use} in use"
                        );
                        assert_eq!((n, l), (in_use, limit));
                    }
                    Err(e) => panic!("{e}"),
                }
            }
            assert!(ch.in_use("pbx") <= limit);
            assert_eq!(ch.in_use("pbx"), held.len() as u32);
            let transfers = held.iter().filter(|(_, u)| *u == Use::Transfer).count();
            assert_eq!(ch.usage()[1].transfers, transfers as u32);
            // Calls alone never eat into the reserve.
            assert!((held.len() - transfers) as u32 <= limit - reserve);
        }
    }
}
