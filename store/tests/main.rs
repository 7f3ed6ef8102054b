//! The store's integration tests, one binary: each file is a module (one link instead of one
//! per file). Both backends: SQLite always, PostgreSQL where `VOUCH_TEST_POSTGRES_URL` names a
//! server (CI starts one). Run one file's tests with
//! `cargo test -p vouch-store --test integration <file>::`.

mod schema;
mod storage;
