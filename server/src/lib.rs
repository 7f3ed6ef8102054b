//! The Vouch server.
