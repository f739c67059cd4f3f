//! GeoIP: CrowdSec's `GeoIpCity`, `GeoIpASN` and `IpToRange` enrichers
//! (`pkg/parser/enrich_geoip.go`) and the `GeoIPEnrich` family of expression helpers, over
//! MaxMind DB files read with the `maxminddb` crate.
//!
//! As in CrowdSec, the databases are `GeoLite2-City.mmdb` (the city enricher) and
//! `GeoLite2-ASN.mmdb` (the ASN enricher *and* the range enricher) in the data directory,
//! opened once when parsers are loaded and shared read-only by every node and helper. A
//! database that is absent leaves its methods unresolved (warned at load, no-ops), as in
//! CrowdSec without the files.
//!
//! What the enrichers write into `evt.Enriched`, as CrowdSec does:
//! - `GeoIpCity`: `IsoCode`, `IsInEU` (`true`/`false`), `Latitude`, `Longitude` (Go `%f`: six
//!   decimals). Nothing else: `GeoCoords`, which the hub's `geoip-enrich` copies into Meta, is
//!   written by no enricher, in CrowdSec as here.
//! - `GeoIpASN`: `ASNNumber`, `ASNumber` (the same number, for older scenarios) and `ASNOrg`.
//! - `IpToRange`: `SourceRange`, the network of the ASN database holding the address
//!   (`1.2.3.0/24`, `2001:db8::/32`).
//!
//! An address the database does not hold gives the zero record, as Go's `geoip2` reader does:
//! `IsoCode` empty, `IsInEU` `false`, coordinates `0.000000`; `ASNNumber` `0`, `ASNOrg` empty;
//! no `SourceRange`. A value that is not an address, an IPv6 address looked up in an IPv4-only
//! database or a record that cannot be decoded write nothing. IPv4-mapped IPv6 addresses
//! (`::ffff:1.2.3.4`) are looked up as IPv4, as Go does. The record layouts accepted are
//! described in [`record`].

mod helpers;
pub mod record;

#[cfg(test)]
mod testdb;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::SystemTime;

use maxminddb::{LookupResult, Reader};

use crate::expr::functions::net::parse_go_ip;

pub use helpers::register;
use record::{AsnLite, CityLite};

/// The City database's file name in the data directory.
pub const CITY_DB: &str = "GeoLite2-City.mmdb";
/// The ASN database's file name (also the range enricher's).
pub const ASN_DB: &str = "GeoLite2-ASN.mmdb";

/// A database that exists but cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{}: not a usable MaxMind database: {source}", path.display())]
pub struct OpenError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: maxminddb::MaxMindDbError,
}

/// One open database.
struct Db {
    path: PathBuf,
    reader: Reader<Vec<u8>>,
}

/// The GeoIP databases, shared by the nodes and helpers of parser sets.
#[derive(Default)]
pub struct GeoIp {
    city: Option<Db>,
    asn: Option<Db>,
}

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoIp")
            .field("city", &self.city.as_ref().map(|d| &d.path))
            .field("asn", &self.asn.as_ref().map(|d| &d.path))
            .finish()
    }
}

fn open_db(path: &Path) -> Result<Db, OpenError> {
    Reader::open_readfile(path)
        .map(|reader| Db {
            path: path.to_path_buf(),
            reader,
        })
        .map_err(|source| OpenError {
            path: path.to_path_buf(),
            source,
        })
}

/// Size and modification time: a file replaced in place (a hub update) is opened anew.
type FileId = Option<(u64, SystemTime)>;

fn file_id(path: &Path) -> FileId {
    let m = std::fs::metadata(path).ok()?;
    Some((m.len(), m.modified().ok()?))
}

type CacheKey = (PathBuf, FileId, FileId);

/// Databases already open, by data directory: parser and postoverflow sets loaded from the
/// same directory share one copy (they are read-only; an entry lives while a set holds it).
static OPEN: Mutex<Vec<(CacheKey, Weak<GeoIp>)>> = Mutex::new(Vec::new());

impl GeoIp {
    /// No database: every method stays unresolved, every helper returns nil.
    pub fn empty() -> Self {
        GeoIp::default()
    }

    /// Opens the given files; `None` leaves that database absent.
    pub fn open_files(city: Option<&Path>, asn: Option<&Path>) -> Result<GeoIp, OpenError> {
        Ok(GeoIp {
            city: city.map(open_db).transpose()?,
            asn: asn.map(open_db).transpose()?,
        })
    }

    /// Opens [`CITY_DB`] and [`ASN_DB`] from `data_dir`. A missing file is no error (its
    /// methods warn when a parser names them); one that cannot be read is left out with a
    /// warning, as CrowdSec logs it and carries on.
    pub fn open_dir(data_dir: &Path) -> (GeoIp, Vec<String>) {
        let mut warnings = Vec::new();
        let mut open = |name: &str| {
            let path = data_dir.join(name);
            if !path.is_file() {
                return None;
            }
            open_db(&path)
                .map_err(|e| warnings.push(format!("GeoIP database {e}")))
                .ok()
        };
        let g = GeoIp {
            city: open(CITY_DB),
            asn: open(ASN_DB),
        };
        (g, warnings)
    }

    /// [`GeoIp::open_dir`], reusing the databases another set loaded from the same directory
    /// holds, when the files have not changed since.
    pub fn shared(data_dir: &Path) -> (Arc<GeoIp>, Vec<String>) {
        let key: CacheKey = (
            data_dir.to_path_buf(),
            file_id(&data_dir.join(CITY_DB)),
            file_id(&data_dir.join(ASN_DB)),
        );
        if key.1.is_none() && key.2.is_none() {
            return (Arc::new(GeoIp::empty()), Vec::new());
        }
        let mut open = OPEN.lock().unwrap_or_else(|p| p.into_inner());
        open.retain(|(_, w)| w.strong_count() > 0);
        if let Some(g) = open
            .iter()
            .find(|(k, _)| *k == key)
            .and_then(|(_, w)| w.upgrade())
        {
            return (g, Vec::new());
        }
        let (g, warnings) = GeoIp::open_dir(data_dir);
        let g = Arc::new(g);
        if warnings.is_empty() {
            open.push((key, Arc::downgrade(&g)));
        }
        (g, warnings)
    }

    /// Whether the City database is open.
    pub fn has_city(&self) -> bool {
        self.city.is_some()
    }

    /// Whether the ASN database (also used for ranges) is open.
    pub fn has_asn(&self) -> bool {
        self.asn.is_some()
    }

    /// The `GeoIpCity` enricher: `IsoCode`, `IsInEU`, `Latitude`, `Longitude`.
    pub fn enrich_city(&self, ip: &str) -> Vec<(&'static str, String)> {
        let Some(found) = lookup(self.city.as_ref(), ip) else {
            return Vec::new();
        };
        let city: CityLite<'_> = match found.decode() {
            Ok(c) => c.unwrap_or_default(),
            Err(e) => {
                tracing::debug!(ip, error = %e, "GeoIP city record unreadable.");
                return Vec::new();
            }
        };
        let (iso, eu) = city.country();
        let (lat, lon) = city.coords();
        vec![
            ("IsoCode", iso.to_string()),
            ("IsInEU", eu.to_string()),
            ("Latitude", format!("{lat:.6}")),
            ("Longitude", format!("{lon:.6}")),
        ]
    }

    /// The `GeoIpASN` enricher: `ASNNumber`, `ASNumber`, `ASNOrg`.
    pub fn enrich_asn(&self, ip: &str) -> Vec<(&'static str, String)> {
        let Some(found) = lookup(self.asn.as_ref(), ip) else {
            return Vec::new();
        };
        let asn: AsnLite<'_> = match found.decode() {
            Ok(a) => a.unwrap_or_default(),
            Err(e) => {
                tracing::debug!(ip, error = %e, "GeoIP ASN record unreadable.");
                return Vec::new();
            }
        };
        let number = asn.autonomous_system_number.unwrap_or(0).to_string();
        vec![
            ("ASNNumber", number.clone()),
            ("ASNumber", number),
            (
                "ASNOrg",
                asn.autonomous_system_organization.unwrap_or("").to_string(),
            ),
        ]
    }

    /// The `IpToRange` enricher: `SourceRange`, when the ASN database holds the address.
    pub fn enrich_range(&self, ip: &str) -> Vec<(&'static str, String)> {
        match self.range(ip) {
            Some(r) => vec![("SourceRange", r)],
            None => Vec::new(),
        }
    }

    /// The network of the ASN database holding `ip`, in CIDR notation.
    pub fn range(&self, ip: &str) -> Option<String> {
        let found = lookup(self.asn.as_ref(), ip)?;
        if !found.has_data() {
            return None;
        }
        found.network().ok().map(|n| n.to_string())
    }
}

/// Looks `ip` up; `None` when there is no database, no address or the lookup fails.
fn lookup<'a>(db: Option<&'a Db>, ip: &str) -> Option<LookupResult<'a, Vec<u8>>> {
    let db = db?;
    if ip.is_empty() {
        return None;
    }
    let Some(addr) = parse_go_ip(ip) else {
        tracing::debug!(ip, "GeoIP: not an IP address.");
        return None;
    };
    db.reader
        .lookup(addr)
        .map_err(
            |e| tracing::debug!(ip, db = %db.path.display(), error = %e, "GeoIP lookup failed."),
        )
        .ok()
}

/// The load-time warning for a GeoIP method whose database is absent; `None` for other
/// methods.
pub fn missing_db_warning(method: &str, data_dir: &Path) -> Option<String> {
    let file = match method {
        "GeoIpCity" => CITY_DB,
        "GeoIpASN" | "IpToRange" => ASN_DB,
        _ => return None,
    };
    Some(format!(
        "method {method:?} needs {file} in {}, which is missing or unreadable; its statics are \
         skipped",
        data_dir.display()
    ))
}
