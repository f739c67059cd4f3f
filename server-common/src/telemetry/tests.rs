use super::*;

#[test]
fn prometheus_renders_recorded_metrics() {
    let prometheus = install_prometheus().unwrap();
    describe_metrics();
    metrics::counter!(names::LINES_READ, "source" => "file:/var/log/auth.log").increment(3);
    metrics::gauge!(names::DECISIONS_ACTIVE).set(2.0);
    // A second install hands back the same recorder.
    let text = install_prometheus().unwrap().render();
    assert!(
        text.contains("# HELP hivewall_lines_read_total Lines read"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE hivewall_lines_read_total counter"),
        "{text}"
    );
    assert!(
        text.contains("hivewall_lines_read_total{source=\"file:/var/log/auth.log\"} 3"),
        "{text}"
    );
    assert!(text.contains("hivewall_decisions_active 2"), "{text}");
    assert_eq!(text, prometheus.render());
}

#[test]
fn log_filter_prefers_hivewall_log_then_rust_log_then_the_level() {
    let hw = Some("decision_api=trace".to_owned());
    let rust = Some("warn".to_owned());
    assert_eq!(
        filter_from(hw, rust.clone(), "info").unwrap().to_string(),
        "decision_api=trace"
    );
    assert_eq!(
        filter_from(Some(" ".into()), rust, "info")
            .unwrap()
            .to_string(),
        "warn"
    );
    assert_eq!(
        filter_from(None, None, "warning").unwrap().to_string(),
        "warn"
    );
    assert_eq!(
        filter_from(None, None, "panic").unwrap().to_string(),
        "error"
    );
    let err = filter_from(Some("x=notalevel".into()), None, "info").unwrap_err();
    assert!(
        matches!(
            err,
            TelemetryError::Filter {
                origin: "HIVEWALL_LOG",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn init_tracing_twice_is_harmless() {
    init_tracing("debug", true).unwrap();
    init_tracing("info", false).unwrap();
    tracing::info!("still logging");
}
