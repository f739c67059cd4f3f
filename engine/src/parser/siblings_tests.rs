//! Sibling sets against each child's own grok: a child is skipped only when its grok would
//! not match, and said to match only when it does, on every hub test log line and on
//! generated sshd messages; only children for which failing is all they would do are
//! skipped; and the sets do skip most children on those lines.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use proptest::prelude::*;

use super::node::{GrokInput, Node};
use super::siblings::{Flags, Siblings};
use super::{LoadOptions, ParserFile, ParserSet, hub_stage_files};
use crate::clock::FixedClock;
use crate::event::Event;

fn options() -> LoadOptions {
    let shared = crate::testdata::shared("crowdsec");
    LoadOptions {
        patterns_dir: shared.join("patterns"),
        data_dir: shared.join("data"),
        clock: Arc::new(FixedClock(
            Utc.with_ymd_and_hms(2024, 6, 1, 0, 0, 0).unwrap(),
        )),
    }
}

/// Every hub parser file that can have a sibling set (three groks on a field or more) and
/// loads on its own.
fn hub_sets() -> Vec<(String, ParserSet)> {
    let hub = crate::testdata::shared("crowdsec/hub");
    let opts = options();
    hub_stage_files(&hub, "parsers")
        .unwrap()
        .into_iter()
        .filter(|f| {
            let text = std::fs::read_to_string(&f.path).unwrap_or_default();
            text.matches("apply_on:").count() >= 3
        })
        .filter_map(|f: ParserFile| {
            let name = f.path.display().to_string();
            ParserSet::load(std::slice::from_ref(&f), &opts)
                .ok()
                .map(|s| (name, s))
        })
        .collect()
}

/// Each node that has a sibling set, with a label, anywhere in `nodes`.
fn with_siblings<'a>(label: &str, nodes: &'a [Node], out: &mut Vec<(String, &'a Node)>) {
    for n in nodes {
        if n.siblings.is_some() {
            out.push((format!("{label} {}", n.name), n));
        }
        with_siblings(label, &n.leaves, out);
    }
}

/// Checks every child of `node` on `text`, with `text` as the value of the field the child's
/// grok reads: a skipped child is a bare grok (no filter, whitelist or children) that fails on
/// it, and a child the set says matches does match.
fn agrees(label: &str, node: &Node, text: &str) -> Result<(), String> {
    let set = node.siblings.as_ref().unwrap();
    let key_of = |child: &Node| match child.grok.as_ref().map(|g| &g.input) {
        Some(GrokInput::Parsed(k)) => Some(k.clone()),
        _ => None,
    };
    // Every field a child reads holds `text` (one event, so the set scans once).
    let mut evt = Event::default();
    for k in node.leaves.iter().filter_map(key_of) {
        evt.parsed.insert(&k, text);
    }
    let mut flags = Flags::new();
    for (i, child) in node.leaves.iter().enumerate() {
        let key = key_of(child);
        let said = set.matches(i, &evt, &mut flags);
        let skipped = said == Some(false);
        let bare = child.filter.is_none() && child.whitelist.is_empty() && child.leaves.is_empty();
        let grok = child.grok.as_ref().map(|g| &g.grok);
        let fails = key.is_some() && grok.is_some_and(|g| !g.is_match(text));
        if skipped && !(bare && fails) {
            return Err(format!("{label}: child {i} skipped on {text:?}"));
        }
        // A child the set says matches runs without testing its regex again.
        if said == Some(true) && fails {
            return Err(format!("{label}: child {i} said to match {text:?}"));
        }
    }
    Ok(())
}

fn hub_texts() -> Vec<String> {
    let mut lines = crate::testdata::hub_test_log_lines();
    // What follows a syslog header (`host program[pid]: `), as the message field holds it.
    let messages: Vec<String> = lines
        .iter()
        .filter_map(|l| l.split_once("]: ").or_else(|| l.split_once(": ")))
        .map(|(_, m)| m.to_string())
        .collect();
    lines.extend(messages);
    lines.into_iter().collect()
}

#[test]
fn skipped_children_are_those_whose_grok_fails_on_every_hub_test_line() {
    let sets = hub_sets();
    let mut nodes = Vec::new();
    for (label, set) in &sets {
        with_siblings(label, set.nodes(), &mut nodes);
    }
    assert!(
        nodes.len() >= 5 && nodes.iter().any(|(l, _)| l.contains("sshd-logs")),
        "sibling sets: {:?}",
        nodes.iter().map(|(l, _)| l).collect::<Vec<_>>()
    );
    let texts = hub_texts();
    assert!(texts.len() > 1000, "{} hub test lines", texts.len());
    let mut skipped = 0usize;
    for (label, node) in &nodes {
        let set = node.siblings.as_ref().unwrap();
        for text in &texts {
            agrees(label, node, text).unwrap();
            let mut evt = Event::default();
            evt.parsed.insert(set.key(), text);
            let mut flags = Flags::new();
            skipped += (0..node.leaves.len())
                .filter(|i| set.fails(*i, &evt, &mut flags))
                .count();
        }
    }
    // The sets do skip: most children fail on most lines.
    assert!(skipped > texts.len() * nodes.len(), "{skipped} skips");
}

#[test]
fn children_that_can_act_on_a_failed_grok_are_never_skipped() {
    let dir = std::env::temp_dir().join(format!("hivewall-siblings-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("p.yaml");
    std::fs::write(
        &path,
        r#"name: test/siblings
onsuccess: next_stage
nodes:
  - grok:
      pattern: "^a %{WORD:x}"
      apply_on: message
  - filter: "evt.Parsed.message != ''"
    grok:
      pattern: "^b %{WORD:x}"
      apply_on: message
  - grok:
      pattern: "^c %{WORD:x}"
      apply_on: message
    nodes:
      - grok:
          pattern: "%{WORD:y}"
          apply_on: message
  - grok:
      pattern: "^d %{WORD:x}"
      apply_on: other
  - grok:
      pattern: "^e %{WORD:x}"
      apply_on: message
  - grok:
      pattern: "^f %{WORD:x}"
      apply_on: message
"#,
    )
    .unwrap();
    let set = ParserSet::load(
        &[ParserFile {
            stage: "s01-parse".into(),
            path: path.clone(),
        }],
        &options(),
    )
    .unwrap();
    let node = &set.nodes()[0];
    let siblings: &Siblings = node.siblings.as_ref().expect("a set of a, e, f");
    assert_eq!(siblings.len(), 3);
    for text in ["a 1", "b 1", "c 1", "d 1", "e 1", "f 1", "zz"] {
        let mut evt = Event::default();
        evt.parsed.insert("message", text);
        evt.parsed.insert("other", text);
        let mut flags = Flags::new();
        let skipped: Vec<usize> = (0..6)
            .filter(|i| siblings.fails(*i, &evt, &mut flags))
            .collect();
        let want: Vec<usize> = [0, 4, 5]
            .into_iter()
            .filter(|i| {
                !text.starts_with(["a", "e", "f"][[0, 4, 5].iter().position(|j| j == i).unwrap()])
            })
            .collect();
        assert_eq!(skipped, want, "{text}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// sshd-logs' children on generated sshd messages and on random text around them.
    #[test]
    fn sshd_children_are_skipped_only_when_their_grok_fails(
        text in prop_oneof![
            crate::grok::fast_tests::sshd_message(),
            "[a-zA-Z0-9 :=.\\[\\]()_-]{0,60}",
            (crate::grok::fast_tests::sshd_message(), "[a-z \\n]{0,6}").prop_map(|(m, t)| format!("{t}{m}{t}")),
        ]
    ) {
        let sets = SSHD.with(|s| s.clone());
        let mut nodes = Vec::new();
        with_siblings("sshd", sets.nodes(), &mut nodes);
        prop_assert!(!nodes.is_empty());
        for (label, node) in nodes {
            prop_assert!(agrees(&label, node, &text).is_ok(), "{:?}", agrees(&label, node, &text));
        }
    }
}

thread_local! {
    static SSHD: Arc<ParserSet> = {
        let hub = crate::testdata::shared("crowdsec/hub");
        let files = super::resolve_hub_items(&hub, "parsers", &["crowdsecurity/sshd-logs".to_string()], &[]).unwrap();
        Arc::new(ParserSet::load(&files, &options()).unwrap())
    };
}
