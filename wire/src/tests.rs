//! Round trips of the records (what the `wire` fuzz target checks on arbitrary JSON).

use super::*;

fn round_trip<T>(json: &str) -> Option<T>
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let v: T = serde_json::from_str(json).ok()?;
    let text = serde_json::to_string(&v).unwrap();
    let back: T = serde_json::from_str(&text).unwrap();
    assert_eq!(v, back, "{text}");
    Some(v)
}

const SOURCE: &str = r#""source":{"scope":"Ip","value":"192.0.2.7","latitude":LAT}"#;

fn alert_with_latitude(lat: &str) -> String {
    format!(
        r#"{{"scenario":"s","scenario_hash":"","scenario_version":"","message":"","events_count":1,"start_at":"","stop_at":"","capacity":0,"leakspeed":"","simulated":false,"events":[],{}}}"#,
        SOURCE.replace("LAT", lat)
    )
}

#[test]
fn alert_round_trips() {
    let a: Alert = round_trip(&alert_with_latitude("48.85")).unwrap();
    assert_eq!(a.source.latitude, 48.85);
}

/// A coordinate too large for Go's float32 is refused (Go: "cannot unmarshal number into
/// float32"), instead of becoming an infinity that encodes as `null` and no longer decodes.
#[test]
fn coordinates_out_of_float32_range_are_refused() {
    assert!(round_trip::<Alert>(&alert_with_latitude("1e39")).is_none());
    assert!(round_trip::<Alert>(&alert_with_latitude("-3.5e38")).is_none());
    let a: Alert = round_trip(&alert_with_latitude("3.4e38")).unwrap();
    assert!(a.source.latitude.is_finite());
}

mod bus {
    use crate::RawLine;
    use crate::bus::{RecordError, decode_line, encode_line, line_key};

    fn line() -> RawLine {
        RawLine {
            raw: "Jun  1 10:00:00 web1 sshd[1]: Failed password".into(),
            src: "/var/log/auth.log".into(),
            module: "file".into(),
            labels: [("type".to_string(), "syslog".to_string())].into(),
            time: Some("2026-06-01T10:00:00.5Z".into()),
        }
    }

    #[test]
    fn our_records_read_back() {
        let l = line();
        assert_eq!(
            decode_line(Some(&encode_line(&l)), Some(b"1")),
            Ok(l.clone())
        );
        assert_eq!(line_key(&l), "/var/log/auth.log");
    }

    /// Vector's and Fluent Bit's field names, extra fields and non-string labels are read.
    #[test]
    fn shippers_records_are_read_leniently() {
        let v = br#"{"message":"hello","timestamp":"2026-06-01T10:00:00Z","host":"web1",
            "source_type":"file","labels":{"type":"nginx","port":8080}}"#;
        let l = decode_line(Some(v), None).unwrap();
        assert_eq!(l.raw, "hello");
        assert_eq!(l.time.as_deref(), Some("2026-06-01T10:00:00Z"));
        assert_eq!(l.module, "kafka");
        assert_eq!(l.labels["type"], "nginx");
        assert_eq!(l.labels["port"], "8080");
        assert_eq!(line_key(&l), "kafka");
    }

    #[test]
    fn bad_records_are_errors() {
        assert_eq!(decode_line(None, None), Err(RecordError::Empty));
        assert_eq!(decode_line(Some(b""), None), Err(RecordError::Empty));
        assert!(matches!(
            decode_line(Some(b"nope"), None),
            Err(RecordError::Json(_))
        ));
        assert_eq!(
            decode_line(Some(b"{\"src\":\"x\"}"), None),
            Err(RecordError::NoLine)
        );
        assert_eq!(
            decode_line(Some(&encode_line(&line())), Some(b"2")),
            Err(RecordError::Version("2".into()))
        );
        // Bytes that are not UTF-8, in a string or outside one: an error naming where.
        let bad = b"{\"raw\":\"a\xff\"}";
        assert_eq!(
            decode_line(Some(bad), None),
            Err(RecordError::Json("not UTF-8 at byte 9".into()))
        );
        assert!(matches!(
            decode_line(Some(b"{\"raw\":\"a\"}\xc3"), None),
            Err(RecordError::Json(_))
        ));
        // Escapes still decode (the text path unescapes as the bytes path did).
        let l = decode_line(Some(br#"{"raw":"\u00e9\t\"x\""}"#), None).unwrap();
        assert_eq!(l.raw, "é\t\"x\"");
    }
}

#[test]
fn decision_records_round_trip_with_their_key() {
    use crate::bus::{DECISION_VERSION, DecisionRecord, decision_key};
    let r = DecisionRecord {
        v: DECISION_VERSION,
        uuid: "9b1d…".into(),
        decision: crate::Decision {
            duration: "4h".into(),
            origin: "crowdsec".into(),
            scenario: "crowdsecurity/ssh-bf".into(),
            scope: "Ip".into(),
            kind: "ban".into(),
            value: "192.0.2.1".into(),
            simulated: false,
        },
        until: "2026-06-01T14:00:00Z".into(),
        created_at: "2026-06-01T10:00:00Z".into(),
        alert_uuid: None,
    };
    let back: DecisionRecord = serde_json::from_slice(&serde_json::to_vec(&r).unwrap()).unwrap();
    assert_eq!(back, r);
    assert_eq!(decision_key("Ip", "192.0.2.1"), "ip:192.0.2.1");
}
