//! With media threads started (`media::threads`), a relay runs on them, not on the
//! runtime that started it: it keeps relaying after that runtime is gone. A test
//! binary of its own, since the threads are process-wide.

use media::rtp::Header;
use media::{Codec, LegConfig, PortAllocator, Relay};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn leg(remote: SocketAddr) -> LegConfig {
    LegConfig {
        remote: Some(remote),
        codec: Codec::Pcmu,
        telephone_event_pt: None,
        pinned: false,
        srtp: None,
    }
}

fn packet(seq: u16) -> Vec<u8> {
    let mut b = vec![0xFFu8; 172];
    Header {
        marker: false,
        payload_type: 0,
        sequence: seq,
        timestamp: 160 * seq as u32,
        ssrc: 0x0102_0304,
    }
    .write(&mut b);
    b
}

#[test]
fn a_relay_started_on_a_runtime_that_ends_keeps_relaying_on_its_media_thread() {
    assert_eq!(media::threads::start(1).unwrap(), 1);
    // Beside the other relay tests' ranges (15000–15949), below the ephemeral ports.
    let ports = PortAllocator::new(LO, 15960, 15979).unwrap();
    let ea = std::net::UdpSocket::bind((LO, 0)).unwrap();
    let eb = std::net::UdpSocket::bind((LO, 0)).unwrap();
    eb.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let starter = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let relay = starter.block_on(async {
        Relay::start(
            ports.allocate().unwrap(),
            ports.allocate().unwrap(),
            leg(ea.local_addr().unwrap()),
            leg(eb.local_addr().unwrap()),
        )
    });
    // The starting runtime and every task on it are gone.
    drop(starter);
    let mut buf = [0u8; 1500];
    for seq in 1..=3u16 {
        ea.send_to(&packet(seq), relay.local_a()).unwrap();
        let (n, _) = eb
            .recv_from(&mut buf)
            .expect("relayed after the starting runtime ended");
        assert_eq!(n, 172);
    }
    let st = relay.stats();
    assert_eq!((st.a.rx_packets, st.a.forwarded), (3, 3));
}
