//! The members of CrowdSec's `Event` an expression may read.
//!
//! CrowdSec compiles expressions against a typed environment (`evt` is a `*pipeline.Event`), so
//! expr's checker refuses `evt.Foo` when `Event` has no field or method `Foo`; hivewall's
//! events are dynamic and would read it as empty.

use crate::expr::Program;

/// Fields of current CrowdSec's `pipeline.Event`.
pub const EVENT_FIELDS: &[&str] = &[
    "Type",
    "ExpectMode",
    "Whitelisted",
    "WhitelistReason",
    "Stage",
    "Line",
    "Parsed",
    "Enriched",
    "Unmarshaled",
    "Overflow",
    "Time",
    "StrTime",
    "StrTimeFormat",
    "MarshaledTime",
    "Process",
    "Appsec",
    "Meta",
];

/// Methods of current CrowdSec's `*pipeline.Event`.
pub const EVENT_METHODS: &[&str] = &[
    "SetMeta",
    "SetParsed",
    "GetType",
    "GetMeta",
    "ParseIPSources",
];

/// Fields of CrowdSec 1.4.6's `types.Event` (no `Unmarshaled`, no `Appsec`).
pub(crate) const EVENT_FIELDS_V14: &[&str] = &[
    "Type",
    "ExpectMode",
    "Whitelisted",
    "WhitelistReason",
    "Stage",
    "Line",
    "Parsed",
    "Enriched",
    "Overflow",
    "Time",
    "StrTime",
    "StrTimeFormat",
    "MarshaledTime",
    "Process",
    "Meta",
];

/// Methods of CrowdSec 1.4.6's `*types.Event`.
pub(crate) const EVENT_METHODS_V14: &[&str] = &["GetType", "GetMeta"];

/// The first member of `evt` (variable number `var` of the program) that is no field or method
/// of CrowdSec's `Event`, when what the program reads of it can be told.
pub fn unknown_event_member(program: &Program, var: usize) -> Option<String> {
    unknown_member_in(program, var, EVENT_FIELDS, EVENT_METHODS)
}

pub(crate) fn unknown_member_in(
    program: &Program,
    var: usize,
    fields: &[&str],
    methods: &[&str],
) -> Option<String> {
    let read = program.members_read(var)?;
    read.into_iter()
        .find(|m| !fields.contains(&m.as_str()) && !methods.contains(&m.as_str()))
}

/// CrowdSec's (expr's checker's) words for an unknown member of `evt`.
pub fn no_field_message(member: &str) -> String {
    format!("type pipeline.Event has no field {member}")
}
