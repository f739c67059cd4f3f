//! Tests of the helpers, called through the registry as the evaluator does.

use std::sync::Arc;

use super::{Functions, HelperContext};
use crate::expr::value::Value;

mod basic;
mod data;
mod structured;

fn funcs() -> Functions {
    Functions::crowdsec(HelperContext::default())
}

fn call<'a>(f: &Functions, name: &str, args: &[Value<'a>]) -> Result<Value<'a>, String> {
    let func = f
        .get(name)
        .unwrap_or_else(|| panic!("{name} not registered"));
    assert!(
        func.arity.accepts(args.len()),
        "{name}: arity rejects {}",
        args.len()
    );
    (func.call)(args)
}

fn s(x: &str) -> Value<'_> {
    Value::str(x)
}

fn call_s(f: &Functions, name: &str, args: &[&str]) -> Value<'static> {
    let owned: Vec<Value<'static>> = args
        .iter()
        .map(|a| Value::string((*a).to_owned()))
        .collect();
    call(f, name, &owned).unwrap().into_owned()
}

fn as_string(v: &Value<'_>) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v:?}"))
        .to_owned()
}

fn strs(v: &Value<'_>) -> Vec<String> {
    match v {
        Value::List(l) => l.iter().map(as_string).collect(),
        other => panic!("not a list: {other:?}"),
    }
}

fn ctx_with(data: super::DataFiles) -> HelperContext {
    HelperContext {
        data: Arc::new(data),
        stash: Arc::default(),
    }
}
