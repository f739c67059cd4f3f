//! Further librdkafka properties an operator passes to a service (`-X KEY=VALUE`): TLS and
//! SASL settings of a real cluster, or tuning. Parsed here and checked by each service
//! against the client properties the bus's guarantees rest on, which no option may change
//! (part of the bus contract, like the topics and record versions; nothing here links
//! librdkafka).

/// Properties every hivewall client sets itself: `bootstrap.servers` comes from `--brokers`;
/// the others carry a guarantee (no lost or reordered records, offsets stored only after the
/// work they cover, Java's placement of keys).
pub const RESERVED: &[&str] = &[
    "bootstrap.servers",
    "metadata.broker.list",
    "acks",
    "request.required.acks",
    "enable.idempotence",
    "partitioner",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "transactional.id",
    "isolation.level",
];

/// Reads one `KEY=VALUE` option (spaces around either side are trimmed; the value may hold
/// `=`). The message is meant for a command line's error.
pub fn parse_option(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not KEY=VALUE (e.g. security.protocol=SASL_SSL)"))?;
    let (k, v) = (k.trim(), v.trim());
    if k.is_empty() {
        return Err(format!("`{s}` has no key"));
    }
    if k.chars()
        .any(|c| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
    {
        return Err(format!(
            "`{k}` is not a librdkafka property name (letters, digits, `.` and `_`)"
        ));
    }
    Ok((k.to_string(), v.to_string()))
}

/// Fails on the first option that names a property in [`RESERVED`] or in `also` (the
/// service's own), or that is given twice.
pub fn check_options(options: &[(String, String)], also: &[&str]) -> Result<(), String> {
    for (i, (k, _)) in options.iter().enumerate() {
        if k == "bootstrap.servers" || k == "metadata.broker.list" {
            return Err(format!("`{k}` cannot be a Kafka option: use --brokers"));
        }
        if RESERVED.contains(&k.as_str()) || also.contains(&k.as_str()) {
            return Err(format!(
                "Kafka option `{k}` is set by hivewall and cannot be changed: the service's \
                 delivery guarantees rest on it"
            ));
        }
        if options[..i].iter().any(|(o, _)| o == k) {
            return Err(format!("Kafka option `{k}` is given twice"));
        }
    }
    Ok(())
}

/// Whether `options` set `key` (a service leaves its own tuning of `key` to the operator).
pub fn sets(options: &[(String, String)], key: &str) -> bool {
    options.iter().any(|(k, _)| k == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn options_are_key_equals_value() {
        assert_eq!(
            parse_option("sasl.password = a=b ").unwrap(),
            ("sasl.password".to_string(), "a=b".to_string())
        );
        assert_eq!(
            parse_option("fetch.min.bytes=").unwrap(),
            ("fetch.min.bytes".to_string(), String::new())
        );
        assert!(
            parse_option("security.protocol")
                .unwrap_err()
                .contains("KEY=VALUE")
        );
        assert!(parse_option("=x").unwrap_err().contains("no key"));
        assert!(
            parse_option("sasl password=x")
                .unwrap_err()
                .contains("property name")
        );
    }

    #[test]
    fn guarantees_cannot_be_overridden() {
        let ok = opts(&[("security.protocol", "SASL_SSL"), ("fetch.min.bytes", "1")]);
        assert_eq!(check_options(&ok, &[]), Ok(()));
        let e = check_options(&opts(&[("acks", "1")]), &[]).unwrap_err();
        assert!(e.contains("`acks`") && e.contains("guarantees"), "{e}");
        let e = check_options(&opts(&[("bootstrap.servers", "h:1")]), &[]).unwrap_err();
        assert!(e.contains("--brokers"), "{e}");
        let e = check_options(&ok, &["fetch.min.bytes"]).unwrap_err();
        assert!(e.contains("fetch.min.bytes"), "{e}");
        let twice = opts(&[("linger.ms", "1"), ("linger.ms", "2")]);
        assert!(check_options(&twice, &[]).unwrap_err().contains("twice"));
        assert!(sets(&ok, "fetch.min.bytes") && !sets(&ok, "linger.ms"));
    }
}
