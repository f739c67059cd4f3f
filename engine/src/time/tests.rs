use std::collections::BTreeMap;

use super::*;

fn md(s: &str, year: i32) -> Option<String> {
    parse_date(s, None, year).map(|(t, _)| format_rfc3339_nano(&t))
}

#[test]
fn layouts() {
    assert_eq!(
        md("2024-09-12T09:15:43.12656Z", 2024).unwrap(),
        "2024-09-12T09:15:43.12656Z"
    );
    assert_eq!(
        md("2022-10-14T09:55:53+02:00", 0).unwrap(),
        "2022-10-14T09:55:53+02:00"
    );
    assert_eq!(
        md("14/Oct/2022:09:55:53 +0200", 0).unwrap(),
        "2022-10-14T09:55:53+02:00"
    );
    assert_eq!(
        md("10/Oct/2000:13:55:36 -0000", 0).unwrap(),
        "2000-10-10T13:55:36Z"
    );
    assert_eq!(md("Jan 24 15:32:31", 2025).unwrap(), "2025-01-24T15:32:31Z");
    assert_eq!(md("Jan  4 15:32:31", 2025).unwrap(), "2025-01-04T15:32:31Z");
    assert_eq!(md("Feb 29 01:02:03", 2025).unwrap(), "2025-03-01T01:02:03Z");
    assert_eq!(
        md("Mon Jan 2 15:04:05 2006", 0).unwrap(),
        "2006-01-02T15:04:05Z"
    );
    assert_eq!(
        md("2021-01-02 03:04:05", 0).unwrap(),
        "2021-01-02T03:04:05Z"
    );
    assert_eq!(
        md("2021-01-02 03:04:05.250", 0).unwrap(),
        "2021-01-02T03:04:05.25Z"
    );
    assert_eq!(
        md("2021-01-02 03:04:05,250", 0).unwrap(),
        "2021-01-02T03:04:05.25Z"
    );
    assert_eq!(md("2021/01/02", 0).unwrap(), "2021-01-02T00:00:00Z");
    assert_eq!(
        md("Mon Jan 02 15:04:05.123456 2006", 0).unwrap(),
        "2006-01-02T15:04:05.123456Z"
    );
    assert_eq!(
        md("2006-01-02 15:04:05.5 +0200 CEST", 0).unwrap(),
        "2006-01-02T15:04:05.5+02:00"
    );
    assert_eq!(md("1700000000", 0).unwrap(), "2023-11-14T22:13:20Z");
    assert_eq!(md("1700000000.999", 0).unwrap(), "2023-11-14T22:13:20Z");
    assert_eq!(parse_date("1700000000", None, 0).unwrap().1, "unix");
    assert!(md("0", 0).is_none());
    assert!(md("garbage", 0).is_none());
    assert!(md("2021-13-02", 0).is_none());
    assert!(md("2021-02-30", 0).is_none());
    let (t, l) = parse_date("12/24/2021 10:11:12 PM", Some("01/02/2006 03:04:05 PM"), 0).unwrap();
    assert_eq!(
        (format_rfc3339_nano(&t).as_str(), l),
        ("2021-12-24T22:11:12Z", "01/02/2006 03:04:05 PM")
    );
    // a failing StrTimeFormat falls back to the default layouts
    assert_eq!(
        parse_date("2021-01-02", Some("Jan 2"), 0).unwrap().1,
        "2006-01-02"
    );
}

#[test]
fn go_format_round_trips() {
    let layouts = [
        "2006-01-02T15:04:05Z07:00",
        "2006-01-02T15:04:05.999999999Z07:00",
        "02/Jan/2006:15:04:05 -0700",
        "Mon Jan _2 15:04:05 2006",
        "Monday, 02-January-06 03:04:05.000 PM -07:00:00",
        "2006-01-02 15:04:05,000 Z0700",
    ];
    let t = go_parse("2023-03-05T17:08:09.123+05:30", "2006-01-02T15:04:05Z07:00").unwrap();
    for l in layouts {
        let s = go_format(&t, l);
        let back = go_parse(&s, l).unwrap_or_else(|| panic!("{l}: {s}"));
        assert_eq!(go_format(&back, l), s, "{l}");
    }
    assert_eq!(
        go_format(&t, "Mon Jan _2 3:4:5 pm 2006"),
        "Sun Mar  5 5:8:9 pm 2023"
    );
    assert_eq!(
        go_format(&t, "2006-01-02T15:04:05.000Z07:00"),
        "2023-03-05T17:08:09.123+05:30"
    );
    assert_eq!(format_rfc3339_nano(&t), "2023-03-05T17:08:09.123+05:30");
    let z = go_parse("2023-03-05T17:08:09Z", "2006-01-02T15:04:05Z07:00").unwrap();
    assert_eq!(go_format(&z, "Z07:00 MST -0700"), "Z UTC +0000");
}

/// (input, expected MarshaledTime, test name) gathered from the hub's parser tests. The input
/// is the first of the usual timestamp fields the event carries (the field the parser copies
/// into `evt.StrTime`), or `date + " " + time`.
fn hub_pairs() -> Vec<(String, String, String)> {
    let key = regex::Regex::new(
        r#"^results\["s02-enrich"\]\["crowdsecurity/dateparse-enrich"\]\[(\d+)\]\.Evt\.(Parsed|Enriched)\["([^"]+)"\] == "(.*)"$"#,
    )
    .unwrap();
    let mut out = Vec::new();
    let dirs = std::fs::read_dir(crate::testdata::shared("crowdsec/hub/.tests")).unwrap();
    let mut dirs: Vec<_> = dirs.flatten().map(|d| d.path()).collect();
    dirs.sort();
    for d in dirs {
        let Ok(text) = std::fs::read_to_string(d.join("parser.assert")) else {
            continue;
        };
        let mut evs: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
        for line in text.lines() {
            if let Some(c) = key.captures(line.trim()) {
                let k = if &c[2] == "Enriched" {
                    format!("!{}", &c[3])
                } else {
                    c[3].to_string()
                };
                let v = c[4].replace("\\\"", "\"").replace("\\\\", "\\");
                evs.entry(c[1].parse().unwrap()).or_default().insert(k, v);
            }
        }
        for ev in evs.values() {
            let Some(want) = ev.get("!MarshaledTime") else {
                continue;
            };
            let input = match (ev.get("date"), ev.get("time")) {
                (Some(d), Some(t)) if !d.contains(':') => Some(format!("{d} {t}")),
                _ => [
                    "timestamp",
                    "time_local",
                    "time",
                    "date",
                    "ts",
                    "timestamp8601",
                    "event_timestamp",
                    "time_stamp",
                    "syslog_timestamp",
                    "request_creation_time",
                ]
                .iter()
                .find_map(|k| ev.get(*k).cloned()),
            };
            if let Some(input) = input {
                let name = d.file_name().unwrap().to_string_lossy().into_owned();
                out.push((input, want.clone(), name));
            }
        }
    }
    out
}

#[test]
fn hub_marshaled_times() {
    let pairs = hub_pairs();
    let mut fails = Vec::new();
    for (input, want, name) in &pairs {
        let year = want.get(..4).and_then(|y| y.parse().ok()).unwrap_or(2024);
        let got = md(input, year);
        if got.as_deref() != Some(want.as_str()) {
            fails.push(format!("{name}: {input:?} -> {got:?}, want {want}"));
        }
    }
    eprintln!(
        "hub date table: {}/{} pass",
        pairs.len() - fails.len(),
        pairs.len()
    );
    // The mismatches are the table's guess of the input, not the date parser: each of these
    // parsers builds evt.StrTime (or its layout) from fields the table does not combine, and
    // their hub tests pass (see docs/conformance.md). Any other mismatch fails.
    let mut by_test: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, _, name) in pairs.iter().filter(|(input, want, _)| {
        let year = want.get(..4).and_then(|y| y.parse().ok()).unwrap_or(2024);
        md(input, year).as_deref() != Some(want.as_str())
    }) {
        *by_test.entry(name.as_str()).or_default() += 1;
    }
    let known: BTreeMap<&str, usize> = HUB_DATE_GUESSES_OFF
        .iter()
        .map(|(n, c, _)| (*n, *c))
        .collect();
    assert_eq!(by_test, known, "{fails:#?}");
}

/// Hub tests whose date the table above guesses wrong: (test, mismatches, why).
const HUB_DATE_GUESSES_OFF: &[(&str, usize, &str)] = &[
    (
        "aws-cloudfront-logs",
        2,
        "StrTime is date + 'T' + time + 'Z'; the table sees time alone",
    ),
    (
        "fastly-logs",
        4,
        "StrTime is another timestamp field than the one the table picks",
    ),
    (
        "gotify-logs",
        7,
        "StrTime joins a date and a time field; the table sees time alone",
    ),
    (
        "immich-bf",
        7,
        "the parser gives the layout (StrTimeFormat); the table passes none",
    ),
    (
        "immich-logs",
        4,
        "the parser gives the layout (StrTimeFormat); the table passes none",
    ),
    (
        "mariadb-logs",
        2,
        "StrTime is built from the date and time fields by an expression",
    ),
    (
        "opensearch-dashboard-logs",
        1,
        "StrTime is the UTC field, not the local one the table picks",
    ),
    (
        "technitium-logs",
        1,
        "StrTime is year/month/day + time, joined by an expression",
    ),
    (
        "unifi-cef",
        1,
        "the time is the CEF epoch-millis field, not the syslog header",
    ),
];

/// Fuzz crash (time target): a layout with a multi-byte character before an element sliced
/// inside the character.
#[test]
fn layouts_with_multibyte_literals() {
    let layout = "Mon, \u{0482}2 Jan 2006 15:04:05 -0700";
    assert_eq!(go_parse("Tue, 03 Jan 2024 15:04:05 -0700", layout), None);
    let t = go_parse("Tue, \u{0482}3 Jan 2024 15:04:05 -0700", layout).unwrap();
    assert_eq!(format_rfc3339_nano(&t), "2024-01-03T15:04:05-07:00");
    assert_eq!(
        go_format(&t, layout),
        "Wed, \u{0482}3 Jan 2024 15:04:05 -0700"
    );
    let t = go_parse("2024é07", "2006é01").unwrap();
    assert_eq!(go_format(&t, "é2006é01é"), "é2024é07é");
}

use proptest::strategy::Strategy as _;

proptest::proptest! {
    /// The digit-by-digit formatting writes what `write!` with padded fields writes, for every
    /// time of years 0..=9999 (nanoseconds, trailing zeros, offsets of either sign).
    #[test]
    fn rfc3339_nano_fast_equals_fmt(
        secs in -62_167_219_200i64..253_402_300_799,
        nanos in proptest::prop_oneof![0u32..1, 0u32..1_000_000_000, (0u32..1000).prop_map(|m| m * 1_000_000)],
        off_min in -(23 * 60 + 59)..(23 * 60 + 59),
    ) {
        use chrono::{DateTime, FixedOffset};
        let off = FixedOffset::east_opt(off_min * 60).unwrap();
        let t = DateTime::from_timestamp(secs, nanos).unwrap().with_timezone(&off);
        proptest::prop_assert_eq!(
            format_rfc3339_nano(&t),
            super::dateparse::format_rfc3339_nano_slow(&t)
        );
    }
}

/// `parse_date` as it was before the layouts were cut once: every layout's text walked per
/// value, in CrowdSec's order (the reference for the test below).
fn parse_date_walked(s: &str, year: i32) -> Option<(String, &'static str)> {
    if s.is_empty() {
        return None;
    }
    LAYOUTS
        .iter()
        .find_map(|l| {
            let t = go_parse(s, l)?;
            let zero = chrono::NaiveDate::from_ymd_opt(1, 1, 1)?.and_hms_opt(0, 0, 0)?;
            if t.naive_utc() == zero {
                return None;
            }
            // Year-less layouts: the year as `parse_date` puts it (checked by `layouts` above).
            let t = if chrono::Datelike::year(&t) == 0 {
                parse_date(s, Some(l), year)?.0
            } else {
                t
            };
            Some((format_rfc3339_nano(&t), *l))
        })
        .or_else(|| {
            // The epoch fall-back, which cutting the layouts did not touch.
            let (t, l) = parse_date(s, None, year).filter(|(_, l)| *l == "unix")?;
            Some((format_rfc3339_nano(&t), l))
        })
}

proptest::proptest! {
    /// Values written with each of CrowdSec's layouts (then damaged: a byte replaced, the
    /// text cut, a fraction added after the seconds) parse with the layouts cut once exactly
    /// as with the layout text walked: same time, same layout, same failures.
    #[test]
    fn cut_layouts_parse_as_walked_ones(
        secs in 0i64..4_102_444_800,
        nanos in proptest::prop_oneof![0u32..1, 0u32..1_000_000_000],
        layout in 0..LAYOUTS.len(),
        damage in 0u8..4,
        at in 0usize..40,
        byte in proptest::sample::select(b" 0912:./-+ZTJanMonPM,".to_vec()),
    ) {
        let t = chrono::DateTime::from_timestamp(secs, nanos).unwrap().fixed_offset();
        let mut v = go_format(&t, LAYOUTS[layout]).into_bytes();
        let at = at.min(v.len().saturating_sub(1));
        match damage {
            1 if !v.is_empty() => v[at] = byte,
            2 => v.truncate(at),
            3 => {
                let tail = v.split_off(at.min(v.len()));
                v.extend_from_slice(b".123");
                v.extend_from_slice(&tail);
            }
            _ => {}
        }
        let v = String::from_utf8(v).unwrap();
        let got = parse_date(&v, None, 2024).map(|(t, l)| (format_rfc3339_nano(&t), l));
        proptest::prop_assert_eq!(got, parse_date_walked(&v, 2024), "{:?}", v);
    }
}
