//! Outbound HTTP guarded against server-side request forgery: loopback,
//! private, link-local (cloud metadata), CGNAT, multicast and reserved
//! addresses, and their IPv6 counterparts, are refused after DNS
//! resolution and on every redirect, unless `SWITCHYARD_OUTBOUND_ALLOW`
//! lists the host or a network containing the address. Redirects are
//! followed in [`redirects`], which also keeps credentials to their origin.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use ipnet::IpNet;
use reqwest::{
    Url,
    dns::{Addrs, Name, Resolve, Resolving},
    redirect,
};

mod redirects;
pub use redirects::OutboundError;

/// Hosts and networks that outbound calls may reach although they are not public.
#[derive(Clone, Debug, Default)]
pub struct OutboundPolicy {
    hosts: Vec<String>,
    networks: Vec<IpNet>,
}

impl OutboundPolicy {
    /// Parses `host.example, 127.0.0.1/32, 10.1.0.0/16, ::1`.
    pub fn parse(spec: &str) -> Result<OutboundPolicy, String> {
        let mut policy = OutboundPolicy::default();
        for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if let Ok(network) = entry.parse::<IpNet>() {
                policy.networks.push(network);
            } else if let Ok(ip) = entry.parse::<IpAddr>() {
                policy.networks.push(IpNet::from(ip));
            } else if entry.contains('/') || entry.contains(char::is_whitespace) {
                return Err(format!(
                    "`{entry}` is neither a host name nor an address or CIDR network"
                ));
            } else {
                policy.hosts.push(entry.to_ascii_lowercase());
            }
        }
        Ok(policy)
    }

    fn allows_host(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.hosts.contains(&host)
    }

    fn allows_ip(&self, ip: IpAddr) -> bool {
        !is_forbidden(ip) || self.networks.iter().any(|net| net.contains(&canonical(ip)))
    }

    /// Resolves `host` and checks every address it has (for connections
    /// made outside the HTTP client, such as SMTP).
    pub async fn check_host(&self, host: &str, port: u16) -> Result<(), String> {
        let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| format!("{host} cannot be resolved: {e}"))?
            .collect();
        if addresses.is_empty() {
            return Err(format!("{host} has no address"));
        }
        if !self.allows_host(host)
            && let Some(bad) = addresses.iter().find(|a| !self.allows_ip(a.ip()))
        {
            return Err(Refused::address(host, bad.ip()).to_string());
        }
        Ok(())
    }

    /// Checks a URL before it is requested: scheme, and the address when
    /// the host is written as one (names are checked when resolved).
    pub fn check_url(&self, url: &Url) -> Result<(), Refused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused {
                host: crate::redact::url(url),
                address: None,
                reason: "only http and https URLs can be called",
            });
        }
        let host = url.host_str().unwrap_or_default();
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        match literal {
            Some(ip) if !self.allows_ip(ip) => Err(Refused::address(host, ip)),
            _ => Ok(()),
        }
    }
}

/// An address outbound calls may not reach.
#[derive(Clone, Debug)]
pub struct Refused {
    pub host: String,
    pub address: Option<IpAddr>,
    pub reason: &'static str,
}

impl Refused {
    fn address(host: &str, ip: IpAddr) -> Refused {
        Refused {
            host: host.to_owned(),
            address: Some(ip),
            reason: "is not a public address",
        }
    }
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.address {
            Some(ip) => write!(
                f,
                "refused to call {} ({ip} {}); list it in SWITCHYARD_OUTBOUND_ALLOW to permit it",
                self.host, self.reason
            ),
            None => write!(f, "refused to call {}: {}", self.host, self.reason),
        }
    }
}

impl std::error::Error for Refused {}

/// IPv4-mapped, IPv4-translated and well-known-prefix NAT64 IPv6 addresses
/// stand for their IPv4 address: they reach it, so they are judged (and
/// allowed) as it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let mapped = s[..5] == [0, 0, 0, 0, 0] && s[5] == 0xffff; // ::ffff:0:0/96
    let translated = s[..4] == [0, 0, 0, 0] && s[4] == 0xffff && s[5] == 0; // ::ffff:0:0:0/96
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0]; // 64:ff9b::/96
    (mapped || translated || nat64).then_some(tail)
}

/// IANA hands out public IPv6 unicast only from 2000::/3; the rest is
/// loopback, IPv4-compatible, reserved, unique local, link-local or multicast.
const GLOBAL_UNICAST: (u128, u32) = (0x2000 << 112, 3);

/// Networks that are not public although they are inside 2000::/3 (or are
/// named here to be explicit), as `(prefix, length)`. Tunnels and
/// translators whose IPv4 address sits at a network-chosen place (6to4,
/// Teredo, local-use NAT64) are refused whole: where they lead cannot be
/// told from the address alone.
const FORBIDDEN_V6: [(u128, u32); 9] = [
    (0x0064_ff9b_0001 << 80, 48), // local-use NAT64 (RFC 8215)
    (0x0100 << 112, 64),          // discard-only (RFC 6666)
    (0x2001_0000 << 96, 32),      // Teredo (RFC 4380)
    (0x2001_0002_0000 << 80, 48), // benchmarking (RFC 5180)
    (0x2001_0010 << 96, 28),      // ORCHID (RFC 4843, deprecated)
    (0x2001_0020 << 96, 28),      // ORCHIDv2 (RFC 7343): identifiers, not routable
    (0x2001_0db8 << 96, 32),      // documentation
    (0x2002 << 112, 16),          // 6to4 (RFC 3056, deprecated by RFC 7526)
    (0x3fff << 112, 20),          // documentation (RFC 9637)
];

fn in_network(ip: Ipv6Addr, (prefix, length): (u128, u32)) -> bool {
    let shift = 128 - length;
    u128::from(ip) >> shift == prefix >> shift
}

/// Whether an address is anything but a public unicast address.
pub fn is_forbidden(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local() // 169.254/16, cloud metadata
                || v4.is_multicast()
                || v4.is_broadcast()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
                || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
                || (a == 192 && b == 0 && c == 2) // documentation
                || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast (deprecated)
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
                || (a == 198 && b == 51 && c == 100)
                || (a == 203 && b == 0 && c == 113)
                || a >= 240 // reserved
        }
        IpAddr::V6(v6) => {
            !in_network(v6, GLOBAL_UNICAST)
                || FORBIDDEN_V6.iter().any(|&network| in_network(v6, network))
        }
    }
}

/// Resolves names and drops answers the policy forbids; an answer with any
/// forbidden address is refused whole, so mixed answers cannot slip through.
struct GuardedResolver {
    policy: Arc<OutboundPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !policy.allows_host(&host)
                && let Some(bad) = addresses.iter().find(|a| !policy.allows_ip(a.ip()))
            {
                return Err(Box::new(Refused::address(&host, bad.ip()))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client every outbound call goes through. Call
/// [`OutboundClient::send`]; `client` itself follows no redirects.
#[derive(Clone)]
pub struct OutboundClient {
    pub client: reqwest::Client,
    pub policy: Arc<OutboundPolicy>,
}

impl OutboundClient {
    pub fn new(policy: OutboundPolicy) -> OutboundClient {
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            // `send` follows redirects itself, hop by hop.
            .redirect(redirect::Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("Switchyard/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client configuration is valid");
        OutboundClient { client, policy }
    }
}

/// Finds a policy refusal anywhere in an error's chain of causes.
pub fn find_refusal<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refused> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = current {
        if let Some(refused) = error.downcast_ref::<Refused>() {
            return Some(refused);
        }
        current = error.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forbidden(ip: &str) -> bool {
        is_forbidden(ip.parse().unwrap())
    }

    #[test]
    fn non_public_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "127.8.9.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "240.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(forbidden(ip), "{ip} should be forbidden");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "100.128.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!forbidden(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn item12_tunnel_translation_and_discard_prefixes_are_forbidden() {
        for ip in [
            "64:ff9b:1::1",                         // local-use NAT64, whatever it embeds
            "64:ff9b:1:ffff::808:808",              // … even a public IPv4 address
            "2002:7f00:1::1",                       // 6to4 embedding 127.0.0.1
            "2002:a9fe:a9fe::",                     // 6to4 embedding 169.254.169.254
            "2002:808:808::1", // 6to4 embedding a public address: deprecated, refused whole
            "2001:0:4136:e378:8000:63bf:3fff:fdd2", // Teredo
            "2001::1",
            "100::1", // discard-only
            "100::ffff:ffff:ffff:ffff",
            "2001:2::1",       // benchmarking
            "3fff::1",         // documentation
            "::ffff:0:7f00:1", // IPv4-translated 127.0.0.1
            "64:ff9b::7f00:1", // well-known NAT64 of 127.0.0.1
            "64:ff9b::a00:1",  // well-known NAT64 of 10.0.0.1
            "192.88.99.1",     // 6to4 relay anycast
            "64:ff9b:2::1",    // reserved, outside 2000::/3
            "4000::1",
            "fec0::1",
        ] {
            assert!(forbidden(ip), "{ip} should be forbidden");
        }
        for ip in [
            "64:ff9b::808:808", // well-known NAT64 of a public address reaches it
            "::ffff:0:808:808", // IPv4-translated public address
            "2001:1::1",        // past Teredo's /32 (PCP anycast, global)
            "2001:4860:4860::8888",
            "2003::1", // past 6to4's /16
        ] {
            assert!(!forbidden(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn item12_embedded_ipv4_follows_the_allow_list_only_where_it_is_reached() {
        let policy = OutboundPolicy::parse("127.0.0.1/32").unwrap();
        // The well-known NAT64 prefix reaches its IPv4 address, so listing
        // that address allows it; 6to4 and local-use NAT64 do not follow it.
        assert!(policy.allows_ip("64:ff9b::7f00:1".parse().unwrap()));
        assert!(!policy.allows_ip("2002:7f00:1::1".parse().unwrap()));
        assert!(!policy.allows_ip("64:ff9b:1::7f00:1".parse().unwrap()));
        let tunnels = OutboundPolicy::parse("2002::/16").unwrap();
        assert!(tunnels.allows_ip("2002:7f00:1::1".parse().unwrap()));
    }

    #[test]
    fn allow_list_takes_hosts_addresses_and_networks() {
        let policy =
            OutboundPolicy::parse("127.0.0.1/32, internal.example , 10.1.0.0/16, ::1").unwrap();
        assert!(policy.allows_ip("127.0.0.1".parse().unwrap()));
        assert!(!policy.allows_ip("127.0.0.2".parse().unwrap()));
        assert!(policy.allows_ip("10.1.200.3".parse().unwrap()));
        assert!(policy.allows_ip("::1".parse().unwrap()));
        assert!(policy.allows_ip("::ffff:127.0.0.1".parse().unwrap()));
        assert!(policy.allows_host("Internal.Example."));
        assert!(OutboundPolicy::parse("10.0.0.0/99").is_err());
    }

    #[test]
    fn literal_addresses_are_checked_before_calling() {
        let policy = OutboundPolicy::default();
        assert!(
            policy
                .check_url(&"http://169.254.169.254/latest/meta-data".parse().unwrap())
                .is_err()
        );
        assert!(
            policy
                .check_url(&"http://[::1]:8080/".parse().unwrap())
                .is_err()
        );
        assert!(
            policy
                .check_url(&"file:///etc/passwd".parse().unwrap())
                .is_err()
        );
        assert!(
            policy
                .check_url(&"https://example.com/".parse().unwrap())
                .is_ok()
        );
    }
}
