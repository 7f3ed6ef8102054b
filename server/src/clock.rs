//! The wall clock, for the instants that are records rather than verdicts (when something was
//! stored, opened, moved). Every verdict that depends on age reads the clock the application
//! state carries instead ([`AppState::now`](crate::state::AppState::now)), which tests fix.

use vouch_evidence::Timestamp;

/// The current time.
pub fn now() -> Timestamp {
    Timestamp::from_datetime(time::OffsetDateTime::now_utc())
}
