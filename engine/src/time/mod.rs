//! Log timestamp parsing and Go-compatible time formatting.
