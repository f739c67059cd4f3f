//! TEMPORARY stand-in until the grok branch merges.
#![allow(missing_docs, dead_code)]
use std::path::Path;

#[derive(Clone, Default)]
pub struct PatternLibrary;
#[derive(Clone, Debug)]
pub struct Grok;
#[derive(Debug, thiserror::Error)]
#[error("stub")]
pub struct GrokError;
impl PatternLibrary {
    pub fn new() -> Self {
        PatternLibrary
    }
    pub fn load_dir(&mut self, _dir: &Path) -> Result<(), GrokError> {
        Ok(())
    }
    pub fn add(&mut self, _name: &str, _pattern: &str) {}
    pub fn get(&self, _name: &str) -> Option<&str> {
        None
    }
    pub fn compile(&self, _pattern: &str) -> Result<Grok, GrokError> {
        Err(GrokError)
    }
}
impl Grok {
    pub fn pattern(&self) -> &str {
        ""
    }
    pub fn field_names(&self) -> &[String] {
        &[]
    }
    pub fn captures<'t>(&self, _text: &'t str, _sink: impl FnMut(&str, &'t str)) -> bool {
        false
    }
}
