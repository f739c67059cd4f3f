//! TEMPORARY stand-in for the compiler until the expr branch merges.
#![allow(missing_docs, dead_code)]
use std::sync::Arc;

use super::functions::Functions;
use super::value::Value;

#[derive(Clone)]
pub struct Compiler;
#[derive(Clone, Debug)]
pub struct Program(String);
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ExprError(pub String);
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct EvalError(pub String);

impl Compiler {
    pub fn new(_f: Arc<Functions>, _vars: &[&str]) -> Self {
        Compiler
    }
    pub fn compile(&self, s: &str) -> Result<Program, ExprError> {
        Ok(Program(s.to_string()))
    }
}
impl Program {
    pub fn source(&self) -> &str {
        &self.0
    }
    pub fn eval<'a>(&'a self, _vars: &[Value<'a>]) -> Result<Value<'a>, EvalError> {
        Err(EvalError("stub".into()))
    }
    pub fn eval_bool<'a>(&'a self, _vars: &[Value<'a>]) -> Result<bool, EvalError> {
        Err(EvalError("stub".into()))
    }
}
