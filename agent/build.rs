//! Links the `vouch-agent` executable at a fixed address (not position-independent) on Linux.
//!
//! The agent links the AWS SDK, kube and octocrab beside the host collectors, and a
//! position-independent executable of that size starts by reading 2.3 MB of relocation records
//! and rewriting 2.1 MB of pointer tables in every process: 4.4 MB of resident memory that a
//! daemon idling on every host keeps for its lifetime (the agent's idle RSS target is 15 MB).
//! Linked at a fixed address, both stay on disk. Heap, stacks, shared libraries and mmap are
//! still randomised; only the executable's own image is not (as with Go daemons, which are
//! linked this way by default). Only the binaries get the flag, not the library or tests.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
