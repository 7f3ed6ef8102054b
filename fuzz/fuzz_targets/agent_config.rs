//! The agent's configuration file (`/etc/vouch/agent.toml`), which ops teams edit by hand.
//!
//! Checks: parsing and validation never panic on any text; a refusal lists at least one
//! problem, and every problem names the file it was given and a key, so "report every error
//! at once with file, key and problem" holds for any input; an accepted configuration is
//! accepted again when parsed a second time (no hidden state).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch_agent::config::AgentConfig;

const FILE: &str = "agent.toml";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match AgentConfig::parse(FILE, text) {
        Ok(_) => assert!(AgentConfig::parse(FILE, text).is_ok(), "accepted once only"),
        Err(errors) => {
            assert!(!errors.0.is_empty(), "refused with no problem named");
            for e in &errors.0 {
                assert_eq!(e.file, FILE, "{e}");
                assert!(!e.key.is_empty(), "{e}: no key or line");
                assert!(!e.problem.is_empty(), "{e}: no problem");
            }
        }
    }
});
