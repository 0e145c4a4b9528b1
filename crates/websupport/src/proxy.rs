//! Behind the city's reverse proxy every request comes from the proxy's address, so rate
//! limits and counts would apply to all citizens at once. `X-Forwarded-For` is honoured
//! only from the configured proxies (anyone else could write the header), reading it from
//! the right and skipping proxies, as nginx's `real_ip_recursive` does.

use axum::http::HeaderMap;
use std::net::IpAddr;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Addresses or networks (`192.0.2.10`, `10.0.0.0/8`, `::1`); an error names the bad one.
    pub fn parse<S: AsRef<str>>(list: &[S]) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in list {
            let item = item.as_ref().trim();
            let (addr, len) = item.split_once('/').unwrap_or((item, ""));
            let ip: IpAddr = addr
                .parse()
                .map_err(|_| format!("trusted proxy {item:?} is not an address or network"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let len = if len.is_empty() {
                max
            } else {
                len.parse::<u8>()
                    .ok()
                    .filter(|l| *l <= max)
                    .ok_or_else(|| format!("trusted proxy {item:?}: bad prefix length"))?
            };
            nets.push((ip, len));
        }
        Ok(TrustedProxies(nets))
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|&(net, len)| in_net(ip, net, len))
    }

    /// The citizen's address: the peer itself unless it is a trusted proxy; then the
    /// right-most `X-Forwarded-For` entry that is not a trusted proxy.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.contains(peer) {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if self.contains(ip) => client = ip,
                Ok(ip) => return ip,
                // A garbled entry: stop at the last address a trusted proxy vouched for.
                Err(_) => return client,
            }
        }
        client
    }
}

fn in_net(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let p = TrustedProxies::parse(&["10.0.0.0/8", "192.0.2.7"]).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // A citizen straight in: the header is theirs to forge, so it is ignored.
        assert_eq!(
            p.client_ip(ip("198.51.100.1"), &xff("203.0.113.9")),
            ip("198.51.100.1")
        );
        // Through the proxy: the right-most untrusted hop (the citizen's own header
        // entries to its left are not believed).
        assert_eq!(
            p.client_ip(ip("192.0.2.7"), &xff("1.2.3.4, 203.0.113.9, 10.1.1.1")),
            ip("203.0.113.9")
        );
        assert_eq!(
            p.client_ip(ip("192.0.2.7"), &HeaderMap::new()),
            ip("192.0.2.7")
        );
        assert_eq!(p.client_ip(ip("10.2.2.2"), &xff("garbage")), ip("10.2.2.2"));
        assert!(TrustedProxies::parse(&["10.0.0.0/33"]).is_err());
        assert!(TrustedProxies::parse(&["proxy.example"]).is_err());
        assert!(TrustedProxies::parse(&["::1/128"])
            .unwrap()
            .contains(ip("::1")));
    }
}
