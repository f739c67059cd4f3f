//! Syslog parsing against CrowdSec's behaviour, and the server on real sockets.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::parse::{parse_3164, parse_5424, to_line};
use crate::{parse_acquis, run};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 5, 10, 0, 0).unwrap()
}

fn line(msg: &str) -> Result<String, String> {
    to_line(msg.as_bytes(), false, now())
}

#[test]
fn rfc3164_lines_are_rebuilt_as_crowdsec_does() {
    assert_eq!(
        line("<13>Mar  1 07:05:09 web1 sshd[4242]: Failed password for root from 1.2.3.4 port 22 ssh2\n").unwrap(),
        "Mar 1 07:05:09 web1 sshd[4242]: Failed password for root from 1.2.3.4 port 22 ssh2"
    );
    assert_eq!(
        line("<13>Mar 11 07:05:09 2021 web1 cron: job done").unwrap(),
        "Mar 11 07:05:09 web1 cron: job done"
    );
    assert_eq!(
        line("<13>2024-03-01T07:05:09+02:00 web1 nginx: hello").unwrap(),
        "Mar 1 07:05:09 web1 nginx: hello"
    );
    // Tags are alphanumeric only: the rest is part of the message (CrowdSec's quirk).
    assert_eq!(
        line("<13>Mar 11 07:05:09 mx postfix/smtpd[12]: connect").unwrap(),
        "Mar 11 07:05:09 mx postfix: /smtpd[12]: connect"
    );
    let p = parse_3164(b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed", 2024).unwrap();
    assert_eq!(
        (p.hostname.as_str(), p.tag.as_str(), p.pid.as_str()),
        ("mymachine", "su", "")
    );
    assert!(parse_3164(b"<34>Oct 11 22:14:15 host", 2024).is_err());
    assert!(parse_3164(b"<34>Oct 11 22:14:15 host tag[12", 2024).is_err());
}

#[test]
fn rfc5424_lines_are_rebuilt_as_crowdsec_does() {
    assert_eq!(
        line("<165>1 2024-03-01T07:05:09.123Z web1 sshd 4242 ID47 [exampleSDID@32473 iut=\"3\"] Invalid user bob").unwrap(),
        "Mar 1 07:05:09 web1 sshd[4242]: Invalid user bob"
    );
    assert_eq!(
        line("<165>1 2024-03-01T07:05:09+01:00 - app - - - message here").unwrap(),
        "Mar 1 07:05:09 unknownhost app: message here"
    );
    // A nil timestamp is "now".
    assert_eq!(
        line("<165>1 - host app 12 - - msg").unwrap(),
        "Mar 5 10:00:00 host app[12]: msg"
    );
    assert!(parse_5424(b"<165>2 2024-03-01T07:05:09Z h a p m - x", now()).is_err());
    assert!(parse_5424(b"<165>1 2024-03-01T07:05:09Z h a p m -", now()).is_err());
}

#[test]
fn unparseable_messages_are_refused_and_strip_only_keeps_them() {
    assert!(line("just some text").is_err());
    assert!(line("<13>not a date host x: y").is_err());
    assert_eq!(
        to_line(b"<13>anything goes\n", true, now()).unwrap(),
        "anything goes"
    );
    assert!(to_line(b"no pri", true, now()).is_err());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn udp_and_tcp_round_trip() {
    let port = free_port();
    let cfg = parse_acquis(
        &format!("source: syslog\nlisten_addr: 127.0.0.1\nlisten_port: {port}\nmax_message_len: 200\nlabels:\n  type: syslog\n"),
        "t",
    )
    .unwrap();
    let (tx, mut rx) = mpsc::channel(16);
    let token = CancellationToken::new();
    let h = tokio::spawn(run(cfg, HashMap::new(), tx, token.clone()));
    tokio::time::sleep(Duration::from_millis(100)).await;

    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let target = format!("127.0.0.1:{port}");
    udp.send_to(b"<13>Mar  1 07:05:09 web1 sshd[1]: udp 3164", &target)
        .await
        .unwrap();
    udp.send_to(b"garbage that is not syslog", &target)
        .await
        .unwrap();
    udp.send_to(
        b"<165>1 2024-03-01T07:05:09Z web1 sshd 2 - - udp 5424",
        &target,
    )
    .await
    .unwrap();

    let mut tcp = tokio::net::TcpStream::connect(&target).await.unwrap();
    let framed = "<165>1 2024-03-01T07:05:09Z web1 sshd 4 - - tcp octet\nwith newline";
    let long = format!("<13>Mar  1 07:05:09 web1 app: {}\n", "y".repeat(300));
    let payload = format!(
        "<13>Mar  1 07:05:09 web1 sshd[3]: tcp newline\r\n{} {framed}{long}<13>Mar  1 07:05:09 web1 sshd[5]: after long\n",
        framed.len()
    );
    tcp.write_all(payload.as_bytes()).await.unwrap();
    tcp.flush().await.unwrap();

    let mut got = Vec::new();
    while got.len() < 6 {
        let l = tokio::time::timeout(Duration::from_secs(3), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("got only {got:?}"))
            .unwrap();
        assert_eq!(l.line.src, "127.0.0.1");
        assert_eq!(l.line.module, "syslog");
        assert!(l.checkpoint.is_none());
        got.push(l.line.raw);
    }
    // UDP and TCP arrive on separate tasks: compare each transport in order.
    let udp_lines: Vec<_> = got.iter().filter(|l| l.contains("udp")).cloned().collect();
    assert_eq!(
        udp_lines,
        [
            "Mar 1 07:05:09 web1 sshd[1]: udp 3164",
            "Mar 1 07:05:09 web1 sshd[2]: udp 5424"
        ]
    );
    let tcp_lines: Vec<_> = got.iter().filter(|l| !l.contains("udp")).cloned().collect();
    assert_eq!(tcp_lines[0], "Mar 1 07:05:09 web1 sshd[3]: tcp newline");
    assert_eq!(
        tcp_lines[1],
        "Mar 1 07:05:09 web1 sshd[4]: tcp octet\nwith newline"
    );
    // Cut at max_message_len (200 bytes of message).
    assert_eq!(
        tcp_lines[2].len(),
        "Mar 1 07:05:09 web1 app: ".len() + 200 - "<13>Mar  1 07:05:09 web1 app: ".len()
    );
    assert_eq!(tcp_lines[3], "Mar 1 07:05:09 web1 sshd[5]: after long");
    token.cancel();
    h.await.unwrap().unwrap();
}
