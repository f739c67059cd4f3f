//! The `hivewall` binary.

fn main() {}
