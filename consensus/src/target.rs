//! What a signal is about: one address or one range, as a compact, hashable key.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// An IP address (full-length prefix) or a range, normalized (host bits cleared, IPv4-mapped
/// IPv6 read as IPv4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    /// The first address, IPv4 in the low 32 bits.
    addr: u128,
    /// Prefix length.
    prefix: u8,
    /// IPv6.
    v6: bool,
}

/// Why a signal's scope and value are not a target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not `Ip` or `Range`.
    #[error("scope {0:?} is not Ip or Range")]
    Scope(String),
    /// The value does not parse.
    #[error("{0:?} is not an IP address or a CIDR range")]
    Value(String),
}

impl Target {
    /// Reads a signal's `scope` (`Ip`, `Range`, any case) and `value`.
    pub fn parse(scope: &str, value: &str) -> Result<Target, TargetError> {
        let bad = || TargetError::Value(value.to_string());
        match wire::signal::normalize_scope(scope) {
            Some("Ip") => {
                let ip: IpAddr = value.trim().parse().map_err(|_| bad())?;
                Ok(Target::from_ip(ip))
            }
            Some(_) => {
                let (ip, len) = value.trim().split_once('/').ok_or_else(bad)?;
                let ip: IpAddr = ip.parse().map_err(|_| bad())?;
                let len: u8 = len.parse().map_err(|_| bad())?;
                Target::range(ip, len).ok_or_else(bad)
            }
            None => Err(TargetError::Scope(scope.to_string())),
        }
    }

    /// One address.
    pub fn from_ip(ip: IpAddr) -> Target {
        match ip {
            IpAddr::V4(a) => Target {
                addr: u128::from(u32::from(a)),
                prefix: 32,
                v6: false,
            },
            IpAddr::V6(a) => match a.to_ipv4_mapped() {
                Some(v4) => Target::from_ip(IpAddr::V4(v4)),
                None => Target {
                    addr: u128::from(a),
                    prefix: 128,
                    v6: true,
                },
            },
        }
    }

    /// A range (host bits cleared); `None` for a prefix longer than the family's.
    pub fn range(ip: IpAddr, prefix: u8) -> Option<Target> {
        let t = Target::from_ip(ip);
        let (bits, mapped_extra) = match ip {
            IpAddr::V6(a) if a.to_ipv4_mapped().is_some() => (32u8, 96u8),
            IpAddr::V6(_) => (128, 0),
            IpAddr::V4(_) => (32, 0),
        };
        let prefix = prefix.checked_sub(mapped_extra)?;
        if prefix > bits {
            return None;
        }
        let host = u32::from(bits - prefix);
        let mask = if host >= 128 {
            0
        } else {
            !((1u128 << host) - 1)
        };
        Some(Target {
            addr: t.addr & mask,
            prefix,
            v6: t.v6,
        })
    }

    /// IPv6.
    pub fn is_v6(&self) -> bool {
        self.v6
    }

    /// Prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether this is a range rather than one address.
    pub fn is_range(&self) -> bool {
        self.prefix < if self.v6 { 128 } else { 32 }
    }

    /// CrowdSec's scope: `Ip` or `Range`.
    pub fn scope(&self) -> &'static str {
        if self.is_range() { "Range" } else { "Ip" }
    }

    /// First and last address covered (IPv4 in the low 32 bits).
    pub fn bounds(&self) -> (u128, u128) {
        let bits = if self.v6 { 128 } else { 32 };
        let host = u32::from(bits - self.prefix);
        let span = if host >= 128 {
            u128::MAX
        } else {
            (1u128 << host) - 1
        };
        (self.addr, self.addr | span)
    }

    /// Whether the address or range is never listed: not publicly routable (private,
    /// loopback, link-local, shared/CGNAT, multicast, reserved, unspecified, ULA).
    pub fn is_reserved(&self) -> bool {
        let (lo, hi) = self.bounds();
        let table: &[(u128, u8)] = if self.v6 { &RESERVED_V6 } else { &RESERVED_V4 };
        table.iter().any(|&(net, len)| {
            let r = Target {
                addr: net,
                prefix: len,
                v6: self.v6,
            };
            let (a, b) = r.bounds();
            a <= hi && lo <= b
        })
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8) -> u128 {
    ((a as u128) << 24) | ((b as u128) << 16) | ((c as u128) << 8) | d as u128
}

/// IPv4 space that no attacker on the Internet can hold (RFC 6890 non-global blocks).
const RESERVED_V4: [(u128, u8); 10] = [
    (v4(0, 0, 0, 0), 8),
    (v4(10, 0, 0, 0), 8),
    (v4(100, 64, 0, 0), 10),
    (v4(127, 0, 0, 0), 8),
    (v4(169, 254, 0, 0), 16),
    (v4(172, 16, 0, 0), 12),
    (v4(192, 0, 0, 0), 24),
    (v4(192, 168, 0, 0), 16),
    (v4(198, 18, 0, 0), 15),
    (v4(224, 0, 0, 0), 3),
];

/// IPv6 space that is not global unicast: loopback/unspecified, ULA, link-local, multicast.
const RESERVED_V6: [(u128, u8); 4] = [
    (0, 96),
    (0xfc00 << 112, 7),
    (0xfe80 << 112, 10),
    (0xff00 << 112, 8),
];

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.v6 {
            write!(f, "{}", Ipv6Addr::from(self.addr))?;
        } else {
            write!(f, "{}", Ipv4Addr::from(self.addr as u32))?;
        }
        if self.is_range() {
            write!(f, "/{}", self.prefix)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(scope: &str, v: &str) -> Target {
        Target::parse(scope, v).unwrap()
    }

    #[test]
    fn parses_and_normalizes() {
        assert_eq!(t("Ip", "45.130.1.2").to_string(), "45.130.1.2");
        assert_eq!(t("ip", "::ffff:45.130.1.2"), t("Ip", "45.130.1.2"));
        assert_eq!(t("Range", "45.130.1.77/24").to_string(), "45.130.1.0/24");
        assert_eq!(t("Range", "45.130.1.77/32"), t("Ip", "45.130.1.77"));
        assert_eq!(
            t("range", "2a01:db8:1::5/48").to_string(),
            "2a01:db8:1::/48"
        );
        assert_eq!(t("Range", "0.0.0.0/0").bounds(), (0, u128::from(u32::MAX)));
        assert_eq!(t("Range", "::/0").bounds(), (0, u128::MAX));
        assert_eq!(t("Ip", "2a01:db8::1").scope(), "Ip");
        assert!(Target::parse("Ip", "45.130.1.0/24").is_err());
        assert!(Target::parse("Range", "45.130.1.0/33").is_err());
        assert!(Target::parse("Range", "45.130.1.0").is_err());
        assert!(Target::parse("Country", "FR").is_err());
    }

    #[test]
    fn reserved_space() {
        for v in [
            "10.1.2.3",
            "127.0.0.1",
            "192.168.1.1",
            "100.64.0.1",
            "224.0.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
        ] {
            assert!(t("Ip", v).is_reserved(), "{v}");
        }
        for v in ["45.130.1.2", "8.8.8.8", "2a01:4f8::1", "203.0.113.5"] {
            assert!(!t("Ip", v).is_reserved(), "{v}");
        }
        assert!(t("Range", "8.0.0.0/6").is_reserved(), "covers 10/8");
    }
}
