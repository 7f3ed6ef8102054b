//! The Vouch agent.
