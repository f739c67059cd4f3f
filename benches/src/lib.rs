//! Benchmark helpers: generators of realistic logs. Not a dependency of anything shipped.
