//! The client's address, as throttling, the audit log and sessions see it.
//!
//! Without trusted proxies it is the TCP peer, whatever the headers say:
//! anyone can send `X-Forwarded-For`. When the peer is a configured trusted
//! proxy (`trusted_proxies`), the forwarding header is read from the right
//! (the hop nearest to us first), skipping addresses that are themselves
//! trusted proxies; the first untrusted one is the client
//! ([RFC 7239 §7.4]: the last entries were added by proxies we know, the
//! earlier ones may be forged by the client). Only the one header the
//! operator configured is read ([`ForwardedHeader`]): a proxy that sets
//! `X-Forwarded-For` passes a client's `Forwarded` through untouched, so
//! a server that read either would let the client choose. A header that
//! cannot be read leaves the proxy's own address: never an address the
//! client chose.
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

/// The one header a trusted proxy names the client in (`forwarded_header`).
///
/// Exactly one is read, never a choice among several: a proxy sets the
/// header it knows and passes the others through untouched, so reading
/// whichever is present would let the client pick its own address by
/// sending the other one (nginx's `$proxy_add_x_forwarded_for` appends to
/// `X-Forwarded-For` but forwards a client's `Forwarded` as sent). OWASP's
/// guidance on `X-Forwarded-For` is the same: trust one header, written by
/// your own proxy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (the de facto list nginx's
    /// `$proxy_add_x_forwarded_for` and most load balancers append to).
    #[default]
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` ([RFC 7239 §4], its `for=`
    /// parameter).
    ///
    /// [RFC 7239 §4]: https://www.rfc-editor.org/rfc/rfc7239#section-4
    Forwarded,
    /// `X-Real-IP: client`: one address, which the proxy replaces (nginx's
    /// `proxy_set_header X-Real-IP $remote_addr`), so there is no list to
    /// walk and a trusted peer's value is taken as it is.
    XRealIp,
}

/// Not one of the header names [`ForwardedHeader`] reads.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a forwarding header: use \"x-forwarded-for\", \"forwarded\" or \"x-real-ip\"")]
pub struct BadForwardedHeader(pub String);

impl ForwardedHeader {
    /// The header's name, lower case: also its name in the configuration.
    pub fn name(self) -> &'static str {
        match self {
            ForwardedHeader::XForwardedFor => "x-forwarded-for",
            ForwardedHeader::Forwarded => "forwarded",
            ForwardedHeader::XRealIp => "x-real-ip",
        }
    }
}

impl FromStr for ForwardedHeader {
    type Err = BadForwardedHeader;

    /// The three names, in any case (header names are case-insensitive,
    /// RFC 9110 §5.1).
    fn from_str(s: &str) -> Result<ForwardedHeader, BadForwardedHeader> {
        [
            ForwardedHeader::XForwardedFor,
            ForwardedHeader::Forwarded,
            ForwardedHeader::XRealIp,
        ]
        .into_iter()
        .find(|h| h.name().eq_ignore_ascii_case(s.trim()))
        .ok_or_else(|| BadForwardedHeader(s.to_owned()))
    }
}

/// The client's address for a request from `peer`, given every field value
/// of the configured `header` (in order; other forwarding headers are never
/// passed in, whatever the request carried).
pub fn client_ip(peer: IpAddr, header: ForwardedHeader, values: &[&str], proxies: &[Cidr]) -> IpAddr {
    let peer = canonical(peer);
    let trusted = |a: IpAddr| proxies.iter().any(|p| p.contains(a));
    if !trusted(peer) {
        return peer;
    }
    let hops: Vec<Option<IpAddr>> = match header {
        ForwardedHeader::XRealIp => {
            // One address in one field: anything else (two fields, a list)
            // was not written by a proxy that replaces the header.
            return match values {
                [one] => parse_node(one.trim()).map_or(peer, canonical),
                _ => peer,
            };
        }
        ForwardedHeader::XForwardedFor => values
            .iter()
            .flat_map(|v| v.split(','))
            .map(|h| parse_node(h.trim()))
            .collect(),
        ForwardedHeader::Forwarded => values
            .iter()
            .flat_map(|v| v.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.trim().split_once('='))
                    .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, value)| parse_node(value.trim().trim_matches('"')))
            })
            .collect(),
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

    /// Each row: the TCP peer, the request's `Forwarded` and
    /// `X-Forwarded-For` and `X-Real-IP` fields, and the address each
    /// configured header gives (in [`HEADERS`] order). Proxies: 10.0.0.0/8.
    type Row = (
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
        [&'static str; 3],
    );

    const HEADERS: [ForwardedHeader; 3] = [
        ForwardedHeader::XForwardedFor,
        ForwardedHeader::Forwarded,
        ForwardedHeader::XRealIp,
    ];

    const PROXY: &str = "10.0.0.5";

    const TABLE: &[Row] = &[
        // An untrusted peer's headers are ignored, whichever is configured.
        (
            "203.0.113.1",
            &["for=198.51.100.1"],
            &["198.51.100.2"],
            &["198.51.100.3"],
            ["203.0.113.1"; 3],
        ),
        // The README's nginx: X-Forwarded-For appended to, a client's
        // Forwarded and X-Real-IP passed through. Only the configured
        // header counts; the forged ones never choose the address.
        (
            PROXY,
            &["for=6.6.6.6"],
            &["7.7.7.7, 198.51.100.9"],
            &[],
            ["198.51.100.9", "6.6.6.6", PROXY],
        ),
        // X-Forwarded-For: the right-most untrusted hop; several fields
        // are one list; trusted hops are skipped.
        (
            PROXY,
            &[],
            &["1.1.1.1, 198.51.100.9, 10.0.0.9"],
            &[],
            ["198.51.100.9", PROXY, PROXY],
        ),
        (
            PROXY,
            &[],
            &["1.1.1.1", "198.51.100.9"],
            &[],
            ["198.51.100.9", PROXY, PROXY],
        ),
        // Every hop trusted: the left-most.
        (
            PROXY,
            &[],
            &["10.1.1.1, 10.2.2.2"],
            &[],
            ["10.1.1.1", PROXY, PROXY],
        ),
        // Forwarded (RFC 7239 §4 examples, ports and IPv6); an
        // X-Forwarded-For beside it is not read when Forwarded is
        // configured, nor the other way round.
        (
            PROXY,
            &["for=192.0.2.43, for=\"[2001:db8:cafe::17]:4711\""],
            &[],
            &[],
            [PROXY, "2001:db8:cafe::17", PROXY],
        ),
        (
            PROXY,
            &["for=192.0.2.60;proto=http;by=203.0.113.43"],
            &["1.2.3.4"],
            &[],
            ["1.2.3.4", "192.0.2.60", PROXY],
        ),
        // Forged hops left of the proxy's are never reached.
        (
            PROXY,
            &["for=6.6.6.6, for=198.51.100.9"],
            &[],
            &[],
            [PROXY, "198.51.100.9", PROXY],
        ),
        // Garbage, `unknown` or obfuscated nodes where a proxy wrote leave
        // the proxy's address; garbage further left is never read.
        (
            PROXY,
            &["for=unknown"],
            &["not an address"],
            &["nope"],
            [PROXY; 3],
        ),
        (
            PROXY,
            &["for=_hidden, for=198.51.100.9"],
            &["garbage, 198.51.100.9"],
            &[],
            ["198.51.100.9", "198.51.100.9", PROXY],
        ),
        // X-Real-IP: one address, taken from a trusted peer as it is.
        (PROXY, &[], &[], &["198.51.100.4"], [PROXY, PROXY, "198.51.100.4"]),
        (
            PROXY,
            &[],
            &[],
            &["[2001:db8::4]:80"],
            [PROXY, PROXY, "2001:db8::4"],
        ),
        // Two fields or a list were not written by a proxy that replaces
        // the header: the proxy's address.
        (PROXY, &[], &[], &["198.51.100.4", "6.6.6.6"], [PROXY; 3]),
        (PROXY, &[], &[], &["6.6.6.6, 198.51.100.4"], [PROXY; 3]),
        // IPv4-mapped peers count as IPv4.
        (
            "::ffff:10.0.0.5",
            &[],
            &["198.51.100.9"],
            &["198.51.100.4"],
            ["198.51.100.9", PROXY, "198.51.100.4"],
        ),
    ];

    #[test]
    fn only_the_configured_header_counts_and_only_from_trusted_proxies() {
        let proxies: Vec<Cidr> = vec!["10.0.0.0/8".parse().unwrap()];
        for (row, (peer, forwarded, xff, real, want)) in TABLE.iter().enumerate() {
            for (header, want) in HEADERS.into_iter().zip(want) {
                let values = match header {
                    ForwardedHeader::XForwardedFor => xff,
                    ForwardedHeader::Forwarded => forwarded,
                    ForwardedHeader::XRealIp => real,
                };
                assert_eq!(
                    client_ip(ip(peer), header, values, &proxies),
                    ip(want),
                    "row {row}, {}",
                    header.name()
                );
            }
        }
    }

    #[test]
    fn header_names() {
        for header in HEADERS {
            assert_eq!(header.name().parse(), Ok(header));
            assert_eq!(header.name().to_uppercase().parse(), Ok(header));
        }
        assert_eq!(ForwardedHeader::default(), ForwardedHeader::XForwardedFor);
        for bad in ["", "x-forwarded", "forwarded-for", "x-forwarded-for,forwarded"] {
            assert!(bad.parse::<ForwardedHeader>().is_err(), "{bad}");
        }
    }
}
