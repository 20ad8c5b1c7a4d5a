//! The client's address, as throttling, the audit log and sessions see it.
//!
//! Without trusted proxies it is the TCP peer, whatever the headers say:
//! anyone can send `X-Forwarded-For`. When the peer is a configured trusted
//! proxy (`trusted_proxies`), the forwarding header is read from the right
//! (the hop nearest to us first), skipping addresses that are themselves
//! trusted proxies; the first untrusted one is the client
//! ([RFC 7239 §7.4]: the last entries were added by proxies we know, the
//! earlier ones may be forged by the client). `Forwarded` (RFC 7239 §4,
//! its `for=` parameter) wins over `X-Forwarded-For` when both are sent. A
//! header that cannot be read leaves the proxy's own address: never an
//! address the client chose.
//!
//! [RFC 7239 §7.4]: https://www.rfc-editor.org/rfc/rfc7239#section-7.4

use std::net::IpAddr;
use std::str::FromStr;

/// An address block: `10.0.0.0/8`, `2001:db8::/32`, or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

/// Not an address or CIDR.
#[derive(Debug, PartialEq, Eq)]
pub struct BadCidr;

impl FromStr for Cidr {
    type Err = BadCidr;

    fn from_str(s: &str) -> Result<Cidr, BadCidr> {
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s.trim(), None),
        };
        let network: IpAddr = addr.parse().map_err(|_| BadCidr)?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or(BadCidr)?,
            None => max,
        };
        Ok(Cidr { network, prefix })
    }
}

impl Cidr {
    /// Whether `addr` is in the block (IPv4-mapped IPv6 counts as IPv4).
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        match (self.network, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// IPv4-mapped IPv6 (`::ffff:10.0.0.1`) as IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address for a request from `peer` with these forwarding
/// headers (every `Forwarded` and `X-Forwarded-For` field value, in
/// order).
pub fn client_ip(peer: IpAddr, forwarded: &[&str], x_forwarded_for: &[&str], proxies: &[Cidr]) -> IpAddr {
    let peer = canonical(peer);
    let trusted = |a: IpAddr| proxies.iter().any(|p| p.contains(a));
    if !trusted(peer) {
        return peer;
    }
    let hops: Vec<Option<IpAddr>> = if forwarded.is_empty() {
        x_forwarded_for
            .iter()
            .flat_map(|v| v.split(','))
            .map(|h| parse_node(h.trim()))
            .collect()
    } else {
        forwarded
            .iter()
            .flat_map(|v| v.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, value)| parse_node(value.trim().trim_matches('"')))
            })
            .collect()
    };
    // From the right: only hops added by trusted proxies are read, so
    // whatever the client put further left is never reached.
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        let Some(hop) = hop else {
            // Unreadable where a trusted proxy wrote: keep the last
            // trusted hop.
            return client;
        };
        client = canonical(hop);
        if !trusted(client) {
            break;
        }
    }
    client
}

/// One node of a forwarding header: `192.0.2.1`, `192.0.2.1:4711`,
/// `[2001:db8::1]`, `[2001:db8::1]:4711` or a bare IPv6 address. Obfuscated
/// and `unknown` nodes (RFC 7239 §6) are not addresses.
fn parse_node(s: &str) -> Option<IpAddr> {
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    if let Ok(addr) = s.parse() {
        return Some(addr);
    }
    let (host, port) = s.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs() {
        let net: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.1.2.3")) && !net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.9.9.9")));
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        for bad in ["10.0.0.0/33", "nope", "10.0.0.0/", "::/129"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn headers_count_only_from_trusted_proxies() {
        let proxies: Vec<Cidr> = vec!["10.0.0.0/8".parse().unwrap()];
        let peer = ip("10.0.0.5");
        // An untrusted peer's header is ignored.
        assert_eq!(
            client_ip(ip("203.0.113.1"), &[], &["198.51.100.9"], &proxies),
            ip("203.0.113.1")
        );
        // The right-most untrusted hop: the client cannot forge past it.
        assert_eq!(
            client_ip(peer, &[], &["1.1.1.1, 198.51.100.9, 10.0.0.9"], &proxies),
            ip("198.51.100.9")
        );
        assert_eq!(
            client_ip(peer, &[], &["1.1.1.1", "198.51.100.9"], &proxies),
            ip("198.51.100.9"),
            "several header lines are one list"
        );
        // RFC 7239 §4 examples, with ports and IPv6.
        assert_eq!(
            client_ip(
                peer,
                &["for=192.0.2.43, for=\"[2001:db8:cafe::17]:4711\""],
                &[],
                &proxies
            ),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            client_ip(
                peer,
                &["for=192.0.2.60;proto=http;by=203.0.113.43"],
                &["1.2.3.4"],
                &proxies
            ),
            ip("192.0.2.60"),
            "Forwarded wins"
        );
        // Garbage, `unknown` or obfuscated nodes where a proxy wrote leave
        // the proxy's address; garbage a client wrote further left is
        // never read.
        assert_eq!(client_ip(peer, &["for=unknown"], &[], &proxies), peer);
        assert_eq!(client_ip(peer, &[], &["not an address"], &proxies), peer);
        assert_eq!(
            client_ip(peer, &[], &["garbage, 198.51.100.9"], &proxies),
            ip("198.51.100.9")
        );
        // Every hop trusted: the left-most.
        assert_eq!(
            client_ip(peer, &[], &["10.1.1.1, 10.2.2.2"], &proxies),
            ip("10.1.1.1")
        );
    }
}
