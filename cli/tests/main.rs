//! The `vouch` command's integration tests, one binary: each file is a module. Run one file's
//! tests with `cargo test -p vouch --test integration <file>::`.

// The handler-test harness of the server's tests (a real router over a real SQLite store).
#[path = "../../server/tests/common/mod.rs"]
mod common;

mod admin_cli;
mod auditor_cli;
mod fsck;
mod verify_cli;
