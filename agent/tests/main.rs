//! The agent's integration tests, one binary: each file is a module.
//! Run one file's tests with `cargo test -p vouch-agent --test integration <file>::`.

mod check_cli;
mod cli;
mod delivery;
mod privileges;
