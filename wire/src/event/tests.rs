use proptest::prelude::*;

use super::*;

fn sample() -> EventBody<'static> {
    EventBody {
        raw: "Jun  1 10:00:00 web1 sshd[42]: Failed password for root from 198.51.100.7",
        src: "/var/log/auth.log",
        module: "file",
        labels: vec![("type", "syslog"), ("host", "web1")],
        line_time: Some(EventTime::Unix {
            secs: 1_780_308_000,
            nanos: 123_456_000,
            offset: 0,
        }),
        line_process: true,
        expect_mode: 1,
        stage: "s02-enrich",
        whitelisted: false,
        parsed: vec![("program", "sshd"), ("user", "root"), ("", "")],
        enriched: vec![("IsInEU", "false")],
        meta: vec![
            ("source_ip", "198.51.100.7"),
            ("log_type", "ssh_failed-auth"),
        ],
        unmarshaled: r#"{"k":{"a":[1,2.5,"x"]}}"#.into(),
        time: Some(EventTime::Unix {
            secs: -62_135_596_800,
            nanos: 0,
            offset: -5 * 3600,
        }),
        str_time: "Jun  1 10:00:00",
        str_time_format: "",
        marshaled_time: "2026-06-01T10:00:00Z",
        process: true,
    }
}

fn record(origin: Option<(i32, i64, u32)>, routes: &[(&str, &str)], body: &EventBody) -> Vec<u8> {
    let mut b = Vec::new();
    encode_body(body, &mut b);
    let mut out = Vec::new();
    encode_record(&mut out, origin, routes, &b);
    out
}

#[test]
fn a_binary_record_reads_back_as_written() {
    let body = sample();
    let routes = [("crowdsecurity/ssh-bf", "198.51.100.7"), ("x/y", "")];
    for origin in [
        None,
        Some((3, 1 << 40, 2)),
        Some((i32::MIN, i64::MIN, u32::MAX)),
    ] {
        let bytes = record(origin, &routes, &body);
        assert_eq!(bytes[0], EVENT_VERSION as u8);
        let mut json = None;
        let got = decode_event(Some(&bytes), &mut json).unwrap();
        assert_eq!(got.origin, origin);
        assert_eq!(got.routes, routes);
        assert_eq!(got.body, body);
        assert!(json.is_none());
    }
}

#[test]
fn every_damaged_record_is_an_error() {
    let bytes = record(Some((1, 2, 0)), &[("a", "b")], &sample());
    // Every strict prefix ends inside a field.
    for n in 1..bytes.len() {
        let mut json = None;
        assert!(
            matches!(
                decode_event(Some(&bytes[..n]), &mut json),
                Err(RecordError::Truncated(_))
            ),
            "prefix of {n} bytes"
        );
    }
    let mut json = None;
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        decode_event(Some(&longer), &mut json),
        Err(RecordError::Trailing(1))
    );
    assert_eq!(decode_event(None, &mut json), Err(RecordError::Empty));
    assert_eq!(decode_event(Some(b""), &mut json), Err(RecordError::Empty));
    assert_eq!(
        decode_event(Some(&[7, 0]), &mut json),
        Err(RecordError::Version(7))
    );
    // A string that is not UTF-8: the first route's scenario, "a".
    let mut bad = bytes.clone();
    let at = bad.iter().position(|b| *b == b'a').unwrap();
    bad[at] = 0xff;
    assert_eq!(
        decode_event(Some(&bad), &mut json),
        Err(RecordError::Utf8(at))
    );
    // A count far beyond the bytes left never allocates it.
    let mut huge = vec![EVENT_VERSION as u8, 0];
    huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert!(matches!(
        decode_event(Some(&huge), &mut json),
        Err(RecordError::Truncated(2))
    ));
}

fn record_v2(
    origin: Option<(i32, i64, u32)>,
    routes: &[(&str, &str)],
    body: &EventBody,
) -> Vec<u8> {
    let mut b = Vec::new();
    binary::encode_body_v2(body, &mut b);
    let mut out = Vec::new();
    binary::encode_record_v2(&mut out, origin, routes, &b);
    out
}

#[test]
fn a_version_2_record_still_reads() {
    let body = sample();
    let routes = [("crowdsecurity/ssh-bf", "198.51.100.7")];
    let bytes = record_v2(Some((3, 7, 1)), &routes, &body);
    assert_eq!(bytes[0], 2);
    let mut json = None;
    let got = decode_event(Some(&bytes), &mut json).unwrap();
    assert_eq!(
        (got.origin, got.routes, got.body),
        (Some((3, 7, 1)), routes.to_vec(), body)
    );
}

/// Version 3's one text: a string may not end inside a character, the text must be used up,
/// and a byte that is not UTF-8 is found where it is.
#[test]
fn a_version_3_text_is_checked_whole() {
    let body = EventBody {
        raw: "é",
        src: "x",
        marshaled_time: "2026-06-01T10:00:00Z",
        ..EventBody::default()
    };
    let bytes = record(None, &[], &body);
    // The text starts after version, origin, route count and the text's length (a varint).
    let (mut len, mut text_at) = (0usize, 3);
    loop {
        len |= usize::from(bytes[text_at] & 0x7f) << (7 * (text_at - 3));
        text_at += 1;
        if bytes[text_at - 1] & 0x80 == 0 {
            break;
        }
    }
    assert_eq!(&bytes[text_at..text_at + 3], "éx".as_bytes());
    // Fields: flags, expect_mode, then raw's length (2) and src's (1).
    let fields = text_at + len;
    assert_eq!((bytes[fields + 2], bytes[fields + 3]), (2, 1));
    let mut json = None;
    let mut cut = bytes.clone();
    (cut[fields + 2], cut[fields + 3]) = (1, 2);
    assert_eq!(
        decode_event(Some(&cut), &mut json),
        Err(RecordError::Utf8(fields + 2))
    );
    let mut short = bytes.clone();
    short[fields + 3] = 0;
    assert_eq!(
        decode_event(Some(&short), &mut json),
        Err(RecordError::Trailing(1))
    );
    let mut long = bytes.clone();
    long[fields + 3] = 0x7f;
    assert_eq!(
        decode_event(Some(&long), &mut json),
        Err(RecordError::Truncated(fields + 3))
    );
    let mut bad = bytes.clone();
    bad[text_at + 2] = 0xff;
    assert_eq!(
        decode_event(Some(&bad), &mut json),
        Err(RecordError::Utf8(text_at + 2))
    );
}

#[test]
fn a_json_record_of_version_1_reads_into_the_same_view() {
    let text = r#"{"v":1,"routes":[{"scenario":"s","group":"198.51.100.7"}],"origin":[0,41,1],
        "line":{"raw":"r","src":"f","module":"file","labels":{"type":"syslog"},
        "time":"2026-06-01T10:00:00.5Z"},"line_process":true,"expect_mode":2,"stage":"s01",
        "parsed":{"a":"1"},"meta":{"m":"2"},"unmarshaled":{"k":[1]},"time":"2026-06-01T10:00:00Z",
        "str_time":"st","process":true}"#;
    let mut json = None;
    let got = decode_event(Some(text.as_bytes()), &mut json).unwrap();
    assert_eq!(got.origin, Some((0, 41, 1)));
    assert_eq!(got.routes, [("s", "198.51.100.7")]);
    let b = &got.body;
    assert_eq!((b.raw, b.src, b.module, b.stage), ("r", "f", "file", "s01"));
    assert_eq!(b.labels, [("type", "syslog")]);
    assert_eq!(
        b.line_time,
        Some(EventTime::Rfc3339("2026-06-01T10:00:00.5Z"))
    );
    assert_eq!(
        (b.parsed.clone(), b.meta.clone()),
        (vec![("a", "1")], vec![("m", "2")])
    );
    assert_eq!(b.unmarshaled, r#"{"k":[1]}"#);
    assert!(b.line_process && b.process && !b.whitelisted);
    assert_eq!((b.expect_mode, b.str_time), (2, "st"));
    let mut json = None;
    let v9 = text.replace(r#""v":1"#, r#""v":9"#);
    assert_eq!(
        decode_event(Some(v9.as_bytes()), &mut json),
        Err(RecordError::Version(9))
    );
    assert!(matches!(
        decode_event(Some(b"{\"v\":1"), &mut json),
        Err(RecordError::Json(_))
    ));
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), ".{0,12}", "[a-z_]{1,8}"]
}

fn time() -> impl Strategy<Value = Option<(i64, u32, i32)>> {
    proptest::option::of((any::<i64>(), 0u32..1_000_000_000, -86_399i32..86_400))
}

fn unix(t: Option<(i64, u32, i32)>) -> Option<EventTime<'static>> {
    t.map(|(secs, nanos, offset)| EventTime::Unix {
        secs,
        nanos,
        offset,
    })
}

fn view(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

proptest! {
    /// Any event and routes read back as written, and any byte string reads as an error or
    /// a record, never a panic.
    #[test]
    fn bodies_round_trip(
        strs in proptest::collection::vec(text(), 8),
        maps in proptest::collection::vec(proptest::collection::vec((text(), text()), 0..5), 5),
        times in (time(), time()),
        flags in any::<(bool, bool, bool, u8)>(),
        origin in proptest::option::of(any::<(i32, i64, u32)>()),
        noise in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let body = EventBody {
            raw: &strs[0], src: &strs[1], module: &strs[2], stage: &strs[3],
            unmarshaled: strs[4].as_str().into(), str_time: &strs[5],
            str_time_format: &strs[6], marshaled_time: &strs[7],
            labels: view(&maps[0]), parsed: view(&maps[1]), enriched: view(&maps[2]),
            meta: view(&maps[3]),
            line_time: unix(times.0), time: unix(times.1),
            line_process: flags.0, whitelisted: flags.1, process: flags.2, expect_mode: flags.3,
        };
        let routes = view(&maps[4]);
        let bytes = record(origin, &routes, &body);
        let mut json = None;
        let got = decode_event(Some(&bytes), &mut json).unwrap();
        prop_assert_eq!(got.origin, origin);
        prop_assert_eq!(&got.routes, &routes);
        prop_assert_eq!(&got.body, &body);
        // Version 2 of the same record reads the same.
        let v2 = record_v2(origin, &routes, &body);
        let old = decode_event(Some(&v2), &mut json).unwrap();
        prop_assert_eq!((old.origin, &old.routes, &old.body), (origin, &routes, &body));
        let mut spliced = bytes[..bytes.len() / 2].to_vec();
        spliced.extend_from_slice(&noise);
        let _ = decode_event(Some(&spliced), &mut json);
        let _ = decode_event(Some(&noise), &mut json);
    }
}
