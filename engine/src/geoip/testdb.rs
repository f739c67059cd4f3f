//! A minimal MaxMind DB writer for tests: builds small City and ASN databases in memory, in
//! MaxMind's layout or in the flat layout of ip-location-db, so the enrichers are tested
//! without downloading anything. Written from the MaxMind DB format specification (2.0):
//! a binary search tree of 24-bit records, 16 zero bytes, the data section, then the
//! metadata map after the `\xAB\xCD\xEFMaxMind.com` marker.

use std::net::IpAddr;

/// A value of the MaxMind DB data section.
#[derive(Debug, Clone)]
pub(crate) enum V {
    Str(&'static str),
    F64(f64),
    F32(f32),
    U16(u16),
    U32(u32),
    U64(u64),
    Bool(bool),
    Map(Vec<(&'static str, V)>),
    Arr(Vec<V>),
}

fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    let (bits, extra): (u8, Vec<u8>) = match size {
        0..29 => (size as u8, vec![]),
        29..285 => (29, vec![(size - 29) as u8]),
        285..65821 => (30, ((size - 285) as u16).to_be_bytes().to_vec()),
        _ => (31, ((size - 65821) as u32).to_be_bytes()[1..].to_vec()),
    };
    if kind <= 7 {
        out.push((kind << 5) | bits);
    } else {
        out.push(bits);
        out.push(kind - 7);
    }
    out.extend(extra);
}

fn uint(out: &mut Vec<u8>, kind: u8, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    control(out, kind, 8 - skip);
    out.extend(&bytes[skip..]);
}

fn encode(v: &V, out: &mut Vec<u8>) {
    match v {
        V::Str(s) => {
            control(out, 2, s.len());
            out.extend(s.as_bytes());
        }
        V::F64(f) => {
            control(out, 3, 8);
            out.extend(f.to_be_bytes());
        }
        V::F32(f) => {
            control(out, 15, 4);
            out.extend(f.to_be_bytes());
        }
        V::U16(n) => uint(out, 5, u64::from(*n)),
        V::U32(n) => uint(out, 6, u64::from(*n)),
        V::U64(n) => uint(out, 9, *n),
        V::Bool(b) => control(out, 14, usize::from(*b)),
        V::Map(m) => {
            control(out, 7, m.len());
            for (k, v) in m {
                encode(&V::Str(k), out);
                encode(v, out);
            }
        }
        V::Arr(a) => {
            control(out, 11, a.len());
            for v in a {
                encode(v, out);
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Rec {
    Empty,
    Node(usize),
    Data(usize),
}

/// A database under construction: networks (no overlaps) with their records.
pub(crate) struct DbWriter {
    ip_version: u16,
    database_type: &'static str,
    entries: Vec<(IpAddr, u8, V)>,
}

impl DbWriter {
    /// An empty IPv6 (`ip_version` 6, IPv4 under `::/96`) or IPv4-only database.
    pub(crate) fn new(ip_version: u16, database_type: &'static str) -> Self {
        DbWriter {
            ip_version,
            database_type,
            entries: Vec::new(),
        }
    }

    /// Adds `cidr` (`"1.2.3.0/24"`, `"2001:db8::/32"`) with its record.
    pub(crate) fn insert(mut self, cidr: &str, v: V) -> Self {
        let (ip, len) = cidr.split_once('/').expect("cidr");
        self.entries
            .push((ip.parse().expect("ip"), len.parse().expect("len"), v));
        self
    }

    fn bits(&self, ip: IpAddr, len: u8) -> Vec<bool> {
        let (bytes, len): (Vec<u8>, usize) = match (ip, self.ip_version) {
            (IpAddr::V4(v4), 4) => (v4.octets().to_vec(), usize::from(len)),
            (IpAddr::V4(v4), _) => {
                let mut b = vec![0u8; 12];
                b.extend(v4.octets());
                (b, 96 + usize::from(len))
            }
            (IpAddr::V6(v6), _) => (v6.octets().to_vec(), usize::from(len)),
        };
        (0..len)
            .map(|i| bytes[i / 8] & (0x80 >> (i % 8)) != 0)
            .collect()
    }

    /// The database file's bytes.
    pub(crate) fn build(&self) -> Vec<u8> {
        let mut data = Vec::new();
        let mut nodes: Vec<[Rec; 2]> = vec![[Rec::Empty; 2]];
        for (ip, len, v) in &self.entries {
            let off = data.len();
            encode(v, &mut data);
            let bits = self.bits(*ip, *len);
            let mut node = 0;
            for (i, bit) in bits.iter().enumerate() {
                let side = usize::from(*bit);
                if i + 1 == bits.len() {
                    nodes[node][side] = Rec::Data(off);
                    break;
                }
                node = match nodes[node][side] {
                    Rec::Node(n) => n,
                    _ => {
                        nodes.push([Rec::Empty; 2]);
                        let n = nodes.len() - 1;
                        nodes[node][side] = Rec::Node(n);
                        n
                    }
                };
            }
        }
        let count = nodes.len();
        let mut out = Vec::new();
        for pair in &nodes {
            for r in pair {
                let v = match *r {
                    Rec::Empty => count,
                    Rec::Node(n) => n,
                    Rec::Data(off) => count + 16 + off,
                };
                out.extend(&(v as u32).to_be_bytes()[1..]);
            }
        }
        out.extend([0u8; 16]);
        out.extend(&data);
        out.extend(b"\xAB\xCD\xEFMaxMind.com");
        let meta = V::Map(vec![
            ("node_count", V::U32(count as u32)),
            ("record_size", V::U16(24)),
            ("ip_version", V::U16(self.ip_version)),
            ("database_type", V::Str(self.database_type)),
            ("languages", V::Arr(vec![V::Str("en")])),
            ("binary_format_major_version", V::U16(2)),
            ("binary_format_minor_version", V::U16(0)),
            ("build_epoch", V::U64(1_700_000_000)),
            ("description", V::Map(vec![("en", V::Str("hivewall test"))])),
        ]);
        encode(&meta, &mut out);
        out
    }
}

/// A country in MaxMind's layout.
pub(crate) fn country(iso: &'static str, eu: bool) -> V {
    let mut m = vec![
        ("geoname_id", V::U32(1)),
        ("iso_code", V::Str(iso)),
        ("names", V::Map(vec![("en", V::Str(iso))])),
    ];
    if eu {
        m.push(("is_in_european_union", V::Bool(true)));
    }
    V::Map(m)
}

/// A City record in MaxMind's layout (GeoLite2-City): country, registered country, location.
pub(crate) fn maxmind_city(
    iso: Option<(&'static str, bool)>,
    registered: Option<(&'static str, bool)>,
    lat: f64,
    lon: f64,
) -> V {
    let mut m = vec![
        (
            "city",
            V::Map(vec![
                ("geoname_id", V::U32(2_643_743)),
                ("names", V::Map(vec![("en", V::Str("Somewhere"))])),
            ]),
        ),
        (
            "continent",
            V::Map(vec![
                ("code", V::Str("EU")),
                ("geoname_id", V::U32(6_255_148)),
            ]),
        ),
        (
            "location",
            V::Map(vec![
                ("accuracy_radius", V::U16(100)),
                ("latitude", V::F64(lat)),
                ("longitude", V::F64(lon)),
                ("time_zone", V::Str("Europe/London")),
            ]),
        ),
        ("postal", V::Map(vec![("code", V::Str("RG12"))])),
        (
            "subdivisions",
            V::Arr(vec![V::Map(vec![
                ("iso_code", V::Str("ENG")),
                ("names", V::Map(vec![("en", V::Str("England"))])),
            ])]),
        ),
    ];
    if let Some((iso, eu)) = iso {
        m.push(("country", country(iso, eu)));
    }
    if let Some((iso, eu)) = registered {
        m.push(("registered_country", country(iso, eu)));
    }
    V::Map(m)
}

/// A City record in ip-location-db's flat layout (`country_code`, `latitude`...: float32).
pub(crate) fn flat_city(cc: &'static str, city: &'static str, lat: f32, lon: f32) -> V {
    V::Map(vec![
        ("city", V::Str(city)),
        ("country_code", V::Str(cc)),
        ("latitude", V::F32(lat)),
        ("longitude", V::F32(lon)),
        ("postcode", V::Str("")),
        ("state1", V::Str("Île-de-France")),
        ("state2", V::Str("")),
        ("timezone", V::Str("Europe/Paris")),
    ])
}

/// An ASN record (same keys in MaxMind's and ip-location-db's layouts).
pub(crate) fn asn(number: u32, org: &'static str) -> V {
    V::Map(vec![
        ("autonomous_system_number", V::U32(number)),
        ("autonomous_system_organization", V::Str(org)),
    ])
}
