//! Kafka producers that serve their delivery reports without a busy loop.
//!
//! rdkafka's `ThreadedProducer`, and the `FutureProducer` built on it, serve delivery reports
//! on a thread that calls `BaseProducer::poll(100 ms)` in a loop. That call polls the queue
//! with the time left to its deadline truncated to whole milliseconds, so in the last
//! millisecond of every 100 it polls without waiting, over and over: about 1% of a core per
//! producer, busy or idle. An idle processor (two producers before it owns a partition, one
//! more per owned changelog partition) used 2.1% of a core, 2.0% of it that way; an idle
//! `ingest` (one producer), on every host of a fleet, 2.2%, 1.1% of it that way (BENCHMARKS.md,
//! "Idle CPU of the services").
//!
//! [`Polled`] is a `BaseProducer` served by a thread of its own that polls only while the
//! producer has records in flight and sleeps otherwise, woken by the next send. While records
//! are in flight it polls for 250 ms at a time, so the tail spins 0.4% of the time instead of
//! 1%. (librdkafka can also write to a pipe when its report queue fills, which would remove
//! the tail too, but only through its C API: this workspace forbids `unsafe`.) It
//! dereferences to the `BaseProducer`, so flushes and transactions are rdkafka's own.
//! [`FutureProducer`] is a [`Polled`] whose sends return a [`DeliveryFuture`], as rdkafka's.

mod future;
mod poller;
#[cfg(test)]
mod tests;

pub use future::{DeliveryFuture, FutureProducer, Futures};
pub use poller::{Polled, Refused};
