//! The caller's address, for throttling. It is the TCP peer, unless the
//! peer is a reverse proxy listed in `SWITCHYARD_TRUSTED_PROXIES`: then the
//! forwarded header the proxies maintain (`X-Forwarded-For` or `Forwarded`,
//! per `SWITCHYARD_FORWARDED_HEADER`) is read from the right, skipping
//! trusted proxies, and the first other address is the client. Anything
//! further left was written by the client and is never believed.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use clap::ValueEnum;
use http::{HeaderMap, request::Parts};
use ipnet::IpNet;

use crate::{error::ApiError, startup::AppState};

/// Which header the trusted proxies append the client's address to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:4711"`
    Forwarded,
}

/// Reverse proxies whose forwarded header is believed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
}

impl TrustedProxies {
    /// Parses `10.0.0.5, 10.1.0.0/16, ::1` (empty: trust no proxy).
    pub fn parse(spec: &str) -> Result<TrustedProxies, String> {
        let networks = spec
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{entry}` is not an IP address or CIDR network"))
            })
            .collect::<Result<_, _>>()?;
        Ok(TrustedProxies { networks })
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.networks.iter().any(|net| net.contains(&ip))
    }

    /// The client's address for a request from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap, header: ForwardedHeader) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_hops(headers, header);
        // Right to left: each trusted proxy vouches for the hop before it.
        let mut client = peer;
        for hop in hops.iter().rev() {
            // An unreadable entry cannot be vouched for; stop at the last known.
            let Some(ip) = hop else { break };
            client = ip.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        client
    }
}

/// The addresses listed in every instance of the header, in order; `None`
/// for entries that are not addresses (`unknown`, obfuscated names).
fn forwarded_hops(headers: &HeaderMap, header: ForwardedHeader) -> Vec<Option<IpAddr>> {
    let name = match header {
        ForwardedHeader::XForwardedFor => "x-forwarded-for",
        ForwardedHeader::Forwarded => "forwarded",
    };
    let mut hops = Vec::new();
    for value in headers.get_all(name) {
        let Ok(value) = value.to_str() else {
            hops.push(None);
            continue;
        };
        for element in value.split(',') {
            let address = match header {
                ForwardedHeader::XForwardedFor => Some(element.trim()),
                ForwardedHeader::Forwarded => element.split(';').find_map(|pair| {
                    let (key, value) = pair.split_once('=')?;
                    key.trim()
                        .eq_ignore_ascii_case("for")
                        .then_some(value.trim())
                }),
            };
            hops.push(address.and_then(parse_node));
        }
    }
    hops
}

/// `1.2.3.4`, `1.2.3.4:80`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    text.strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(ip, _)| ip.parse().ok())
}

/// The client's address as [`TrustedProxies::client`] reads it.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let ConnectInfo(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .copied()
            .ok_or_else(|| ApiError::Internal("the peer address is missing".into()))?;
        let config = &state.config;
        Ok(ClientIp(config.trusted_proxies.client(
            peer.ip(),
            &parts.headers,
            config.forwarded_header,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &str, values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client() {
        let none = TrustedProxies::parse("").unwrap();
        let spoofed = headers("x-forwarded-for", &["6.6.6.6"]);
        assert_eq!(
            none.client(ip("127.0.0.1"), &spoofed, ForwardedHeader::XForwardedFor),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse("127.0.0.1, 10.0.0.0/8").unwrap();
        let xff = ForwardedHeader::XForwardedFor;
        // The client wrote 6.6.6.6 itself; the proxies appended the rest.
        let chain = headers("x-forwarded-for", &["6.6.6.6, 203.0.113.7", "10.1.2.3"]);
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &chain, xff),
            ip("203.0.113.7")
        );
        // From an untrusted peer the header means nothing.
        assert_eq!(
            proxies.client(ip("198.51.100.1"), &chain, xff),
            ip("198.51.100.1")
        );
        // No header: the proxy itself.
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &HeaderMap::new(), xff),
            ip("127.0.0.1")
        );
        // Garbage stops the walk at the last hop a proxy vouched for.
        let garbage = headers("x-forwarded-for", &["203.0.113.7, nonsense"]);
        assert_eq!(
            proxies.client(ip("127.0.0.1"), &garbage, xff),
            ip("127.0.0.1")
        );
        // IPv4-mapped peers count as their IPv4 address.
        assert_eq!(
            proxies.client(ip("::ffff:127.0.0.1"), &chain, xff),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn rfc_7239_forwarded_is_read_when_chosen() {
        let proxies = TrustedProxies::parse("::1").unwrap();
        let forwarded = headers(
            "forwarded",
            &[r#"for=6.6.6.6;proto=https, for="[2001:db8::7]:4711";by=x"#],
        );
        assert_eq!(
            proxies.client(ip("::1"), &forwarded, ForwardedHeader::Forwarded),
            ip("2001:db8::7")
        );
        // The other header is not consulted.
        assert_eq!(
            proxies.client(ip("::1"), &forwarded, ForwardedHeader::XForwardedFor),
            ip("::1")
        );
    }

    #[test]
    fn bad_lists_are_refused() {
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("proxy.internal").is_err());
        assert!(TrustedProxies::parse(" 10.0.0.1 , fd00::/8 ").is_ok());
    }
}
