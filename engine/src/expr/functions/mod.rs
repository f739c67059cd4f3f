//! Helper functions callable from expressions (CrowdSec's `exprhelpers`).
//!
//! The registry is built once, after every `data:` file of the loaded parsers and scenarios has
//! been read, and is then shared read-only by all compiled programs. Helpers that need state
//! (data files, the stash) capture an `Arc` of it: see [`HelperContext`] and
//! [`Functions::crowdsec`].
//!
//! Helpers follow Go's semantics: where CrowdSec logs and returns a zero value (`Atof("x")`,
//! `JsonExtract` on bad JSON, `IpInRange` on a bad IP), so do they; where CrowdSec returns an
//! error (`Distance` on a non-number, `B64Decode` on bad input, `UnmarshalJSON` on bad JSON,
//! `ParseKV` with no pair), they return `Err`. Wrong argument types give `Err` too (expr-lang
//! would refuse to call them). They never panic.
//!
//! # Helpers that write into the event
//!
//! In CrowdSec, `UnmarshalJSON(src, evt.Unmarshaled, "key")`, `ParseKV(src, evt.Unmarshaled,
//! "key")` and `ParseKVLax(...)` mutate their second argument (storing at `key`) and return
//! `nil`. Values are immutable here, so the registered helpers only *compute* what is to be
//! stored and return it:
//!
//! - `UnmarshalJSON` returns the parsed document as Go sees it (every number a `float64`);
//! - `ParseKV` / `ParseKVLax` return a `Value::Map` of string values.
//!
//! The runtime that evaluates parser nodes must intercept calls to the helpers listed in
//! [`WRITING_HELPERS`]: store (for `ParseKV*`, merge key by key into any existing map at
//! `key`) the returned value into the map named by the second argument, and then use
//! `Value::Nil` as the call's result, because hub filters test `UnmarshalJSON(...) in ["",
//! nil]` or `ParseKV(...) == nil`. It can also call the plain functions [`unmarshal_json`]
//! (then [`convert::json_to_go_value`]) and [`parse_kv`] directly.
//!
//! # Data files
//!
//! `File`, `RegexpInFile`, `FileMap` and `LookupFile` read from [`DataFiles`], filled by the
//! loader from each `data:` entry's `dest_file` in the local data directory.
//!
//! # Omitted helpers
//!
//! Registered by the caller over what it injects: `TimeNow` over a clock ([`register_clock`]),
//! `GetDecisionsCount`, `GetDecisionsSinceCount`, `GetActiveDecisionsCount` and
//! `GetActiveDecisionsTimeLeft` over a decision history (`crate::profile::register_history`),
//! `GeoIPEnrich`, `GeoIPASNEnrich`, `GeoIPRangeEnrich` and `IPToCountry` over GeoIP databases
//! ([`crate::geoip::register`], done by the parser loader).
//!
//! Not registered because they need the network, the WAF or the host: `Hostname`,
//! `LookupHost`, `CrowdsecCTI`, `LibInjectionIsSQLI`, `LibInjectionIsXSS`, `JA4H`, `HTTPGet`,
//! `HTTPHead`, `HTTPPost`, `HTTPRequest`, `MatchKnownBot` (its `bots` data files are not
//! supported).

use std::sync::Arc;

use foldhash::HashMap;

use super::value::Value;

mod clock;
pub mod convert;
pub mod files;
pub mod json;
pub mod kv;
mod misc;
pub mod net;
pub mod sprintf;
pub mod stash;
pub mod strings;
pub mod xml;

#[cfg(test)]
mod tests;

pub use clock::register_clock;
pub use files::{DataError, DataFiles, DataKind};
pub use json::unmarshal_json;
pub use kv::parse_kv;
pub use misc::{b64_decode, distance_km, glob_match, go_atof, parse_go_float, parse_unix};
pub use stash::Stash;

/// Helpers that CrowdSec uses to write into their second argument, with the index of the
/// argument naming the key to write (see the module documentation).
pub const WRITING_HELPERS: &[(&str, usize)] =
    &[("UnmarshalJSON", 2), ("ParseKV", 2), ("ParseKVLax", 2)];

/// The state helpers share: loaded data files and the stash.
#[derive(Debug, Clone, Default)]
pub struct HelperContext {
    /// Data files (`File`, `RegexpInFile`, `LookupFile`, `FileMap`).
    pub data: Arc<DataFiles>,
    /// Named key/value caches (`GetFromStash`, `SetInStash`).
    pub stash: Arc<Stash>,
}

/// Wraps a closure as a [`NativeFn`], giving it the required higher-ranked signature.
pub(crate) fn native<F>(f: F) -> NativeFn
where
    F: for<'a> Fn(&[Value<'a>]) -> Result<Value<'a>, String> + Send + Sync + 'static,
{
    Box::new(f)
}

/// A native helper: takes evaluated arguments, returns a value or an error message.
pub type NativeFn = Box<dyn for<'a> Fn(&[Value<'a>]) -> Result<Value<'a>, String> + Send + Sync>;

/// How many arguments a helper accepts, checked at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// Exactly this many.
    Exact(usize),
    /// At least `min`, at most `max` (inclusive).
    Range(usize, usize),
    /// Any number, at least this many.
    AtLeast(usize),
}

impl Arity {
    /// Whether `n` arguments are accepted.
    pub fn accepts(self, n: usize) -> bool {
        match self {
            Arity::Exact(k) => n == k,
            Arity::Range(lo, hi) => (lo..=hi).contains(&n),
            Arity::AtLeast(lo) => n >= lo,
        }
    }
}

/// Helpers whose result depends only on their arguments (and on data files, which never
/// change once loaded), with no side effect. The compiler may evaluate a call to one of them
/// fewer times than written: once per closure call instead of once per element, or once per
/// element of a constant list for all evaluations. Writers (`UnmarshalJSON`, `ParseKV*`), the
/// stash (`GetFromStash` reads what `SetInStash` writes) and `LogInfo` are not in the list.
pub const PURE_HELPERS: &[&str] = &[
    "Atof",
    "AverageInterval",
    "B64Decode",
    "Distance",
    "Distinct",
    "ExtractQueryParam",
    "Fields",
    "File",
    "FileMap",
    "Flatten",
    "FlattenDistinct",
    "FloatApproxEqual",
    "Get",
    "Index",
    "IndexAny",
    "IpInRange",
    "IpToRange",
    "IsIP",
    "IsIPV4",
    "IsIPV6",
    "Join",
    "JsonExtract",
    "JsonExtractLib",
    "JsonExtractObject",
    "JsonExtractSlice",
    "JsonExtractUnescape",
    "KeyExists",
    "LookupFile",
    "Lower",
    "Match",
    "MedianInterval",
    "ParseQuery",
    "ParseUnix",
    "ParseUnixTime",
    "ParseUri",
    "PathEscape",
    "PathUnescape",
    "QueryEscape",
    "QueryUnescape",
    "RegexpInFile",
    "Replace",
    "ReplaceAll",
    "Split",
    "SplitAfter",
    "SplitAfterN",
    "SplitN",
    "Sprintf",
    "ToJsonString",
    "ToString",
    "Trim",
    "TrimLeft",
    "TrimPrefix",
    "TrimRight",
    "TrimSpace",
    "TrimSuffix",
    "Upper",
    "XMLGetAttributeValue",
    "XMLGetNodeValue",
];

/// One registered helper.
pub struct Function {
    /// The name as written in expressions (`JsonExtract`, `Upper`, ...).
    pub name: &'static str,
    /// Accepted argument counts.
    pub arity: Arity,
    /// The implementation.
    pub call: NativeFn,
    /// Whether the compiler may call it fewer times than written (see [`PURE_HELPERS`]).
    /// Only the registry's own helpers are marked pure; [`Functions::register`] clears it.
    pub(crate) pure: bool,
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("name", &self.name)
            .field("arity", &self.arity)
            .field("pure", &self.pure)
            .finish_non_exhaustive()
    }
}

/// The set of helpers a compiler resolves calls against.
#[derive(Default)]
pub struct Functions {
    map: HashMap<&'static str, Arc<Function>>,
    /// The data files behind the registry's own `File` helper, while it is registered: lets
    /// the compiler turn `File("name")` into the loaded lines, shared rather than copied.
    data: Option<Arc<DataFiles>>,
}

impl Functions {
    /// An empty registry (only the language builtins remain available).
    pub fn empty() -> Self {
        Self::default()
    }

    /// Every CrowdSec helper this engine implements, over the given shared state.
    pub fn crowdsec(ctx: HelperContext) -> Self {
        let mut f = Self::empty();
        strings::register(&mut f);
        json::register(&mut f);
        net::register(&mut f);
        kv::register(&mut f);
        xml::register(&mut f);
        misc::register(&mut f);
        sprintf::register(&mut f);
        files::register(&mut f, &ctx.data);
        stash::register(&mut f, &ctx.stash);
        for (name, func) in f.map.iter_mut() {
            if let Some(func) = Arc::get_mut(func) {
                func.pure = PURE_HELPERS.contains(name);
            }
        }
        f.data = Some(Arc::clone(&ctx.data));
        f
    }

    /// Registers (or replaces) a helper. A helper registered here is never assumed pure.
    pub fn register(&mut self, name: &'static str, arity: Arity, call: NativeFn) {
        if name == "File" {
            self.data = None;
        }
        self.map.insert(
            name,
            Arc::new(Function {
                name,
                arity,
                call,
                pure: false,
            }),
        );
    }

    /// Looks a helper up by name.
    pub fn get(&self, name: &str) -> Option<&Function> {
        self.map.get(name).map(|f| &**f)
    }

    /// Looks a helper up by name, as a handle a compiled program can keep.
    pub(crate) fn get_shared(&self, name: &str) -> Option<Arc<Function>> {
        self.map.get(name).cloned()
    }

    /// The lines of the `string` data file `name` as the registry's own `File` helper would
    /// return them (empty when not loaded), shared; `None` when `File` is not that helper.
    pub(crate) fn file_lines(&self, name: &str) -> Option<Arc<[String]>> {
        let data = self.data.as_ref()?;
        Some(data.shared_lines(name).unwrap_or_else(|| Arc::from([])))
    }

    /// Names of all helpers, for error hints.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.map.keys().copied()
    }
}

/// Shared handle used by compiled programs.
pub type SharedFunctions = Arc<Functions>;
