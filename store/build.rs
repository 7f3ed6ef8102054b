//! The PostgreSQL migrations are embedded at compile time (`sqlx::migrate!`): a migration added
//! or edited must rebuild the crate.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
