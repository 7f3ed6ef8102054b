//! Exact UTC instants with one canonical text form.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// An instant in UTC between the years 0000 and 9999, written in RFC 3339 with exactly six
/// fractional digits and a `Z` (`2026-11-24T02:42:24.123456Z`). Parsing text from people
/// ([`FromStr`], [`Deserialize`]) accepts any RFC 3339 offset and normalises it; signed
/// payloads accept only the canonical form ([`Timestamp::parse_canonical`],
/// [`deserialize_canonical`]), so one instant has one text form and a snapshot one byte form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(OffsetDateTime);

/// Why a string is not an RFC 3339 timestamp.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not an RFC 3339 timestamp: {0:?}")]
pub struct TimestampError(pub String);

impl Timestamp {
    /// Wraps an instant, truncated to whole microseconds (the precision we keep).
    pub fn from_datetime(t: OffsetDateTime) -> Self {
        let t = t.to_offset(UtcOffset::UTC);
        let micros = t.microsecond();
        Timestamp(
            t.replace_microsecond(micros)
                .expect("microsecond is in range"),
        )
    }

    /// Microseconds since the Unix epoch. (Whole seconds and the microseconds within the
    /// second: the same as the nanoseconds divided by 1,000, since an instant holds whole
    /// microseconds, without the 128-bit division; a fleet's view reads millions.)
    pub fn unix_micros(&self) -> i64 {
        self.0.unix_timestamp() * 1_000_000 + i64::from(self.0.microsecond())
    }

    /// The instant `secs` seconds later (earlier, when negative), if it falls in the years
    /// 0000–9999. (By the calendar's arithmetic, not through the epoch:
    /// `from_unix_micros(unix_micros() + secs × 10⁶)` at a fraction of the cost.)
    pub fn checked_add_secs(&self, secs: i64) -> Option<Self> {
        self.0
            .checked_add(time::Duration::seconds(secs))
            .filter(|t| (0..=9999).contains(&t.year()))
            .map(Timestamp)
    }

    /// The instant `micros` microseconds after the Unix epoch, if it falls in the years
    /// 0000–9999.
    pub fn from_unix_micros(micros: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000)
            .ok()
            .filter(|t| (0..=9999).contains(&t.year()))
            .map(Timestamp)
    }

    /// The wrapped instant.
    pub fn datetime(&self) -> OffsetDateTime {
        self.0
    }

    /// Parses exactly the canonical text form, `YYYY-MM-DDTHH:MM:SS.ffffffZ`: what signed
    /// payloads hold. Any other spelling of an instant (fewer digits, an offset, a leap
    /// second, another separator) is refused.
    pub fn parse_canonical(s: &str) -> Result<Self, TimestampError> {
        let t: Timestamp = s.parse()?;
        if t.to_string() != s {
            return Err(TimestampError(s.chars().take(64).collect()));
        }
        Ok(t)
    }
}

/// Deserializes a [`Timestamp`] in its canonical text form only (for signed payloads, with
/// `#[serde(deserialize_with = "…")]`).
pub fn deserialize_canonical<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
    let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
    Timestamp::parse_canonical(&s).map_err(|e| {
        serde::de::Error::custom(format_args!(
            "{e}: signed payloads write instants as YYYY-MM-DDTHH:MM:SS.ffffffZ"
        ))
    })
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let refused = || TimestampError(s.chars().take(64).collect());
        let t = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| refused())?;
        // An offset can move the instant out of the years the text form can hold (year 0 at
        // +01:00 is year −1; 9999-12-31T23:59:59-01:00 is beyond what `time` represents).
        let utc = t.checked_to_offset(UtcOffset::UTC).ok_or_else(refused)?;
        if !(0..=9999).contains(&utc.year()) {
            return Err(refused());
        }
        Ok(Timestamp::from_datetime(utc))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.microsecond()
        )
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

/// Where "now" comes from. Every verdict that depends on age reads the instant from a clock
/// it was handed, never from the wall clock directly, so a test or a replay can fix it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Clock {
    /// The system's real-time clock.
    #[default]
    System,
    /// Always the same instant (tests; `--at` on the agent's `collect` and `check`).
    Fixed(Timestamp),
}

impl Clock {
    /// The current instant by this clock.
    pub fn now(&self) -> Timestamp {
        match self {
            Clock::System => Timestamp::from_datetime(OffsetDateTime::now_utc()),
            Clock::Fixed(t) => *t,
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_is_utc_with_six_digits() {
        let t: Timestamp = "2026-03-31T23:59:59.5+02:00".parse().unwrap();
        assert_eq!(t.to_string(), "2026-03-31T21:59:59.500000Z");
        let again: Timestamp = t.to_string().parse().unwrap();
        assert_eq!(again, t);
    }

    #[test]
    fn micros_round_trip_and_truncation() {
        let t: Timestamp = "2026-11-24T02:42:24.123456789Z".parse().unwrap();
        assert_eq!(t.to_string(), "2026-11-24T02:42:24.123456Z");
        assert_eq!(Timestamp::from_unix_micros(t.unix_micros()), Some(t));
    }

    /// The cheaper arithmetic answers what the epoch's did, at the edges of the years kept,
    /// before the epoch and with fractions of a second.
    #[test]
    fn micros_and_added_seconds_agree_with_the_epochs_arithmetic() {
        let instants = [
            "0000-01-01T00:00:00Z",
            "0000-01-01T00:00:00.000001Z",
            "1969-12-31T23:59:59.500000Z",
            "1969-12-31T23:59:59.999999Z",
            "1970-01-01T00:00:00Z",
            "2026-11-24T02:42:24.123456Z",
            "2028-02-29T23:59:59.999999Z",
            "9999-12-31T23:59:59.999999Z",
        ];
        let secs = [
            0,
            1,
            -1,
            86_400,
            -86_400,
            90 * 86_400,
            400 * 365 * 86_400,
            i64::MAX / 2_000_000,
            -(i64::MAX / 2_000_000),
        ];
        for text in instants {
            let t: Timestamp = text.parse().unwrap();
            let by_nanos = (t.0.unix_timestamp_nanos() / 1_000) as i64;
            assert_eq!(t.unix_micros(), by_nanos, "{text}");
            assert_eq!(
                Timestamp::from_unix_micros(t.unix_micros()),
                Some(t),
                "{text}"
            );
            for s in secs {
                let by_epoch = by_nanos
                    .checked_add(s * 1_000_000)
                    .and_then(Timestamp::from_unix_micros);
                assert_eq!(t.checked_add_secs(s), by_epoch, "{text} + {s} s");
            }
        }
    }

    #[test]
    fn a_fixed_clock_never_moves() {
        let t: Timestamp = "2026-11-24T02:42:24Z".parse().unwrap();
        assert_eq!(Clock::Fixed(t).now(), t);
        assert_eq!(Clock::Fixed(t).now(), Clock::Fixed(t).now());
    }

    #[test]
    fn only_the_canonical_form_is_canonical() {
        let t = Timestamp::parse_canonical("2026-11-24T02:00:00.456000Z").unwrap();
        assert_eq!(t.to_string(), "2026-11-24T02:00:00.456000Z");
        // Spellings fuzzing found accepted in signed payloads (issue 15).
        for other in [
            "2026-11-24T02:00:00.456Z",
            "2026-11-24T02:00:00Z",
            "2026-11-24T03:00:00.456000+01:00",
            "2026-11-24t02:00:00.456000Z",
            "2026-11-24 02:00:00.456000Z",
            "2026-12-31T23:59:60.000000Z",
            "2026-11-24T02:00:00.456000z",
        ] {
            assert!(Timestamp::parse_canonical(other).is_err(), "{other}");
        }
    }

    #[test]
    fn offsets_beyond_the_representable_years_are_refused_not_panics() {
        // Found by fuzzing: the first panicked in `to_offset`, the second became year -1,
        // written as text no parser reads back.
        assert!("9999-12-31T23:59:59-01:00".parse::<Timestamp>().is_err());
        assert!("0000-01-01T00:00:00+01:00".parse::<Timestamp>().is_err());
        assert!("9999-12-31T23:59:59Z".parse::<Timestamp>().is_ok());
        assert!("0000-01-01T00:00:00Z".parse::<Timestamp>().is_ok());
    }

    #[test]
    fn rejects_garbage() {
        assert!("yesterday".parse::<Timestamp>().is_err());
        assert!("2026-11-24 02:42:24".parse::<Timestamp>().is_err());
    }
}
