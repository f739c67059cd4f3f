//! Addresses that never enter the feed: CDNs, search engine crawlers, public resolvers, the
//! hub's whitelists. Kept as sorted, merged intervals per family: a lookup is one binary
//! search whatever the number of ranges.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::target::Target;

/// Why an allowlist file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AllowlistError {
    /// The file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line or an item is not an IP or a CIDR range.
    #[error("{path}:{line}: {value:?} is not an IP address or a CIDR range")]
    Entry {
        /// The file.
        path: PathBuf,
        /// The line (text lists) or the item's position (YAML lists, 1-based).
        line: usize,
        /// The text.
        value: String,
    },
    /// A hub parser file that does not parse.
    #[error("{path}: {message}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
}

/// Sorted, merged intervals of allowlisted addresses.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    v4: Vec<(u128, u128)>,
    v6: Vec<(u128, u128)>,
    /// Files skipped, with the reason (rDNS or user-agent lists cannot apply to a signal).
    pub skipped: Vec<(PathBuf, &'static str)>,
}

#[derive(Deserialize)]
struct HubParser {
    #[serde(default)]
    whitelist: Option<HubWhitelist>,
}

#[derive(Deserialize)]
struct HubWhitelist {
    #[serde(default)]
    ip: Vec<String>,
    #[serde(default)]
    cidr: Vec<String>,
}

/// An address or a range, written either way.
fn parse_entry(text: &str) -> Option<Target> {
    if text.contains('/') {
        Target::parse("Range", text).ok()
    } else {
        text.parse::<IpAddr>().ok().map(Target::from_ip)
    }
}

/// Whether no line of a text list is an address (a list of host names, say).
fn has_no_address(text: &str) -> bool {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default().trim())
        .filter(|l| !l.is_empty())
        .all(|l| parse_entry(l).is_none())
}

impl Allowlist {
    /// Reads files and directories (recursively): `.yaml`/`.yml` as hub whitelist parsers,
    /// `.json`/`.regex` skipped (rDNS and user-agent lists), anything else as an IP/CIDR list.
    pub fn load(paths: &[PathBuf]) -> Result<Allowlist, AllowlistError> {
        let mut out = Allowlist::default();
        for p in paths {
            out.load_path(p)?;
        }
        out.normalize();
        Ok(out)
    }

    fn load_path(&mut self, path: &Path) -> Result<(), AllowlistError> {
        let io = |source| AllowlistError::Io {
            path: path.to_path_buf(),
            source,
        };
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(io)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            for e in entries {
                self.load_path(&e)?;
            }
            return Ok(());
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        match ext {
            "json" | "regex" => {
                self.skipped.push((
                    path.to_path_buf(),
                    "rDNS/user-agent list: needs more than an address",
                ));
                Ok(())
            }
            "md" => Ok(()),
            _ => {
                let text = std::fs::read_to_string(path).map_err(io)?;
                if ext == "yaml" || ext == "yml" {
                    self.add_hub_parser(&text, path)
                } else if has_no_address(&text) {
                    // The data tree also holds rDNS suffix lists as .txt: not addresses.
                    self.skipped
                        .push((path.to_path_buf(), "no IP address or range in it"));
                    Ok(())
                } else {
                    self.add_text(&text, path)
                }
            }
        }
    }

    /// Adds an IP/CIDR list: one entry a line, `#` starts a comment.
    pub fn add_text(&mut self, text: &str, path: &Path) -> Result<(), AllowlistError> {
        for (i, line) in text.lines().enumerate() {
            let entry = line.split('#').next().unwrap_or_default().trim();
            if entry.is_empty() {
                continue;
            }
            let t = parse_entry(entry).ok_or_else(|| AllowlistError::Entry {
                path: path.to_path_buf(),
                line: i + 1,
                value: entry.to_string(),
            })?;
            self.push(t);
        }
        Ok(())
    }

    /// Adds a hub whitelist parser's `whitelist.ip` and `whitelist.cidr` (its `expression`
    /// entries test log fields a signal does not carry: they are not applied).
    pub fn add_hub_parser(&mut self, text: &str, path: &Path) -> Result<(), AllowlistError> {
        let docs: Vec<HubParser> =
            serde_saphyr::from_multiple(text).map_err(|e| AllowlistError::Yaml {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        for wl in docs.into_iter().filter_map(|d| d.whitelist) {
            for (i, v) in wl.ip.iter().chain(wl.cidr.iter()).enumerate() {
                let t = parse_entry(v.trim()).ok_or_else(|| AllowlistError::Entry {
                    path: path.to_path_buf(),
                    line: i + 1,
                    value: v.clone(),
                })?;
                self.push(t);
            }
        }
        Ok(())
    }

    /// Adds one address or range (call [`Allowlist::normalize`] after a batch).
    pub fn push(&mut self, t: Target) {
        let list = if t.is_v6() {
            &mut self.v6
        } else {
            &mut self.v4
        };
        list.push(t.bounds());
    }

    /// Sorts and merges the intervals (after [`Allowlist::push`]).
    pub fn normalize(&mut self) {
        for list in [&mut self.v4, &mut self.v6] {
            list.sort_unstable();
            let mut merged: Vec<(u128, u128)> = Vec::with_capacity(list.len());
            for &(a, b) in list.iter() {
                match merged.last_mut() {
                    Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                    _ => merged.push((a, b)),
                }
            }
            *list = merged;
        }
    }

    /// Whether any allowlisted address lies in `t` (an address: is it allowlisted; a range:
    /// does it cover an allowlisted address).
    pub fn overlaps(&self, t: &Target) -> bool {
        let list = if t.is_v6() { &self.v6 } else { &self.v4 };
        let (lo, hi) = t.bounds();
        let i = list.partition_point(|&(_, end)| end < lo);
        list.get(i).is_some_and(|&(start, _)| start <= hi)
    }

    /// Number of merged intervals (IPv4, IPv6).
    pub fn len(&self) -> (usize, usize) {
        (self.v4.len(), self.v6.len())
    }

    /// Whether nothing is allowlisted.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &str) -> Target {
        parse_entry(v).unwrap()
    }

    #[test]
    fn intervals_answer_addresses_and_ranges() {
        let mut a = Allowlist::default();
        a.add_text(
            "# cdn\n173.245.48.0/20\n1.1.1.1 # resolver\n\n2606:4700::/32\n",
            Path::new("x"),
        )
        .unwrap();
        a.normalize();
        assert!(a.overlaps(&t("173.245.63.255")));
        assert!(!a.overlaps(&t("173.245.64.0")));
        assert!(a.overlaps(&t("1.1.1.1")));
        assert!(!a.overlaps(&t("1.1.1.2")));
        assert!(
            a.overlaps(&t("1.1.0.0/16")),
            "a range covering an allowlisted address"
        );
        assert!(a.overlaps(&t("2606:4700:10::6816:1")));
        assert!(!a.overlaps(&t("2606:4701::1")));
        let err = a
            .add_text("1.2.3.4\nnot-an-ip\n", Path::new("f.txt"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.txt:2: \"not-an-ip\" is not an IP address or a CIDR range"
        );
    }

    #[test]
    fn the_shared_hub_and_data_whitelists_load() {
        let root = Path::new("/work/shared/crowdsec");
        if !root.exists() {
            return; // contract data of this machine; the unit tests above cover the logic
        }
        let a = Allowlist::load(&[
            root.join("data/whitelists"),
            root.join("hub/parsers/s02-enrich/crowdsecurity/whitelists.yaml"),
            root.join("hub/parsers/s02-enrich/crowdsecurity/public-dns-allowlist.yaml"),
        ])
        .unwrap();
        assert!(a.overlaps(&t("173.245.48.1")), "cloudflare");
        assert!(a.overlaps(&t("8.8.8.8")), "public resolver");
        assert!(a.overlaps(&t("192.168.1.1")), "hub's private ranges");
        assert!(!a.overlaps(&t("45.130.1.2")));
        assert!(a.skipped.iter().any(|(p, _)| p.ends_with("googlebot.json")));
        assert!(
            a.skipped
                .iter()
                .any(|(p, _)| p.ends_with("rdns_seo_bots.txt"))
        );
    }
}
