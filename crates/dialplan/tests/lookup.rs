//! Which configured number a caller dialled, and which trunk a packet belongs to.

use std::net::{IpAddr, SocketAddr};

use dialplan::{default_config, parse, TrunkKind, DEFAULT_TOML};

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn every_representative_number_matches_in_every_form() {
    let cfg = default_config();
    let cases = [
        ("0246221111", "市代表"),
        ("+81246542111", "小名浜支所"),
        ("81246632111", "勿来支所"),
        ("0246-43-2111", "常磐支所"),
        ("tel:+81-246-26-2111", "内郷支所"),
        ("+81 (246) 26-2111", "内郷支所"),
    ];
    for (dialled, name) in cases {
        assert_eq!(
            cfg.number_for(dialled).map(|n| n.name.as_str()),
            Some(name),
            "{dialled}"
        );
    }
}

#[test]
fn near_misses_match_nothing() {
    let cfg = default_config();
    for dialled in [
        "024622111",
        "02462211110",
        "+1246221111",
        "246221111",
        "9",
        "",
        "general",
    ] {
        assert_eq!(cfg.number_for(dialled), None, "{dialled}");
    }
}

#[test]
fn numbers_written_in_e164_in_the_file_match_national_dialling() {
    let text = DEFAULT_TOML.replacen("number = \"0246221111\"", "number = \"+81-246-22-1111\"", 1);
    let cfg = parse(&text, "t.toml").unwrap();
    assert_eq!(
        cfg.number_for("0246221111").map(|n| n.name.as_str()),
        Some("市代表")
    );
}

#[test]
fn trunk_is_known_by_listener_and_source() {
    let cfg = default_config();
    let carrier = cfg.trunk_for(addr("127.0.0.1:5080"), ip("127.0.0.5"));
    assert_eq!(carrier.map(|t| t.kind), Some(TrunkKind::Carrier));
    let pbx = cfg.trunk_for(addr("127.0.0.1:5082"), ip("127.0.0.5"));
    assert_eq!(pbx.map(|t| t.kind), Some(TrunkKind::Pbx));
    // IPv6 loopback is a carrier peer, not a pbx one.
    assert!(cfg.trunk_for(addr("127.0.0.1:5080"), ip("::1")).is_some());
    assert!(cfg.trunk_for(addr("127.0.0.1:5082"), ip("::1")).is_none());
}

#[test]
fn a_source_outside_the_peers_or_the_wrong_listener_is_no_trunk() {
    let cfg = default_config();
    assert!(cfg
        .trunk_for(addr("127.0.0.1:5080"), ip("192.0.2.10"))
        .is_none());
    // The softphone listener is no trunk, whoever sends to it.
    assert!(cfg
        .trunk_for(addr("127.0.0.1:5060"), ip("127.0.0.1"))
        .is_none());
}

#[test]
fn a_wildcard_listener_is_matched_by_port() {
    let text = DEFAULT_TOML
        .replacen(
            "listen = \"127.0.0.1:5082\"",
            "listen = \"0.0.0.0:5082\"",
            1,
        )
        .replacen("peers = [\"127.0.0.0/8\"]", "peers = [\"192.0.2.0/24\"]", 1);
    let cfg = parse(&text, "t.toml").unwrap();
    let t = cfg.trunk_for(addr("192.0.2.1:5082"), ip("192.0.2.77"));
    assert_eq!(t.map(|t| t.name.as_str()), Some("pbx"));
    // IPv4-mapped source from a dual-stack socket.
    let t = cfg.trunk_for(addr("0.0.0.0:5082"), ip("::ffff:192.0.2.77"));
    assert_eq!(t.map(|t| t.name.as_str()), Some("pbx"));
}
