//! `TimeNow`: "now" as CrowdSec prints it (RFC 3339, UTC, whole seconds), read from the clock
//! the caller injects (the engine never reads the wall clock itself).

use std::sync::Arc;

use crate::clock::Clock;
use crate::expr::Value;

use super::{Arity, Functions};

/// Registers `TimeNow()` over `clock`. Not pure: two calls may differ.
pub fn register_clock(f: &mut Functions, clock: Arc<dyn Clock>) {
    f.register(
        "TimeNow",
        Arity::Exact(0),
        Box::new(move |_: &[Value<'_>]| {
            Ok(Value::string(
                clock.now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            ))
        }),
    );
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chrono::TimeZone;

    use super::*;
    use crate::clock::FixedClock;
    use crate::expr::Compiler;
    use crate::expr::functions::HelperContext;

    #[test]
    fn time_now_reads_the_injected_clock() {
        let mut f = Functions::crowdsec(HelperContext::default());
        let at = chrono::Utc
            .with_ymd_and_hms(2024, 2, 29, 23, 59, 58)
            .single()
            .unwrap()
            + chrono::Duration::milliseconds(750);
        register_clock(&mut f, Arc::new(FixedClock(at)));
        let c = Compiler::new(Arc::new(f), &[]);
        let p = c.compile("TimeNow()").unwrap();
        assert_eq!(p.eval(&[]).unwrap().as_str(), Some("2024-02-29T23:59:58Z"));
        let p = c.compile("TimeNow() startsWith '2024-02-29T'").unwrap();
        assert_eq!(p.eval(&[]).unwrap().as_bool(), Some(true));
        assert!(c.compile("TimeNow(1)").is_err());
        // Without a clock the helper does not exist.
        let plain = Compiler::new(Arc::new(Functions::crowdsec(HelperContext::default())), &[]);
        assert!(plain.compile("TimeNow()").is_err());
    }
}
