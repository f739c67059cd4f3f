//! The members of CrowdSec's `Event` an expression may read.
//!
//! CrowdSec compiles expressions against a typed environment (`evt` is a `*pipeline.Event`), so
//! expr's checker refuses `evt.Foo` when `Event` has no field or method `Foo`; hivewall's
//! events are dynamic and would read it as empty.

use crate::event::EVENT_FIELDS;
use crate::expr::Program;

/// Fields of current CrowdSec's `pipeline.Event` that hivewall's events lack (the others are
/// [`crate::event::EVENT_FIELDS`]).
const ONLY_IN_CROWDSEC: &[&str] = &["Appsec"];

/// Methods of current CrowdSec's `*pipeline.Event`.
pub const EVENT_METHODS: &[&str] = &[
    "SetMeta",
    "SetParsed",
    "GetType",
    "GetMeta",
    "ParseIPSources",
];

/// Fields of current CrowdSec's `Event` that 1.4.6's `types.Event` lacks.
const NEWER_THAN_V14: &[&str] = &["Unmarshaled", "Appsec"];

/// Whether `name` is a field of current CrowdSec's `pipeline.Event`.
fn is_field(name: &str) -> bool {
    EVENT_FIELDS.contains(&name) || ONLY_IN_CROWDSEC.contains(&name)
}

/// Whether `name` is a field of CrowdSec 1.4.6's `types.Event`.
pub(crate) fn is_field_v14(name: &str) -> bool {
    is_field(name) && !NEWER_THAN_V14.contains(&name)
}

/// Methods of CrowdSec 1.4.6's `*types.Event`.
pub(crate) const EVENT_METHODS_V14: &[&str] = &["GetType", "GetMeta"];

/// The first member of `evt` (variable number `var` of the program) that is no field or method
/// of CrowdSec's `Event`, when what the program reads of it can be told.
pub fn unknown_event_member(program: &Program, var: usize) -> Option<String> {
    let read = program.members_read(var)?;
    read.into_iter()
        .find(|m| !is_field(m) && !EVENT_METHODS.contains(&m.as_str()))
}

/// CrowdSec's (expr's checker's) words for an unknown member of `evt`.
pub fn no_field_message(member: &str) -> String {
    format!("type pipeline.Event has no field {member}")
}
