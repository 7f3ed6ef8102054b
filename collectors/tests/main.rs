//! The collectors' integration tests, one binary: each file is a module.
//! Run one file's tests with `cargo test -p vouch-collectors --test integration <file>::`.

mod aws;
mod entra;
mod github;
mod google_workspace;
mod host_fixtures;
mod import;
mod kubernetes;
mod okta;
