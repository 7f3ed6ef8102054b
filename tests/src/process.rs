//! Real processes for fault tests: the `vouch` and `vouch-agent` binaries of this workspace, and
//! a `vouch serve` child process that a test can kill with SIGKILL (an in-process server cannot
//! be), stop with SIGTERM and start again on the same data directory, port and certificate.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use crate::server::https_client;

/// The workspace's source files a binary is built from: a binary older than any of them is
/// rebuilt before a test runs it.
const SOURCES: &[&str] = &[
    "Cargo.toml",
    "Cargo.lock",
    "evidence",
    "config",
    "client",
    "policies",
    "collectors",
    "agent",
    "server",
    "cli",
    "verify",
];

static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());

/// The binary `name` of the workspace package `package`, built by this workspace in the profile
/// this test runs in (`target/debug/vouch` beside `target/debug/deps/<this test>`). Only the
/// integration tests of the package itself get `CARGO_BIN_EXE_<name>`, so this one locates it
/// from the running test's own path; when it is missing or older than a source file of the
/// crates it is built from (as after `cargo test -p vouch-tests`, which builds no binary of
/// another package), it is built first with the Cargo that runs the tests (`cargo build -p
/// <package> --bin <name> --locked`), once per test process.
///
/// # Panics
/// When the binary cannot be found or built, with Cargo's output.
pub fn binary(name: &str, package: &str) -> PathBuf {
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/<test>-<hash>, or target/<profile>/<binary> (`bench`)
    let parent = exe.parent().expect("the test runs from target/<profile>");
    let profile_dir = if parent.file_name().is_some_and(|n| n == "deps") {
        parent.parent().expect("target/<profile>")
    } else {
        parent
    }
    .to_path_buf();
    let path = profile_dir.join(name);
    let workspace = workspace();
    let built_at = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
    let newest_source = SOURCES
        .iter()
        .filter_map(|s| newest_mtime(&workspace.join(s)))
        .max();
    let stale = match (built_at, newest_source) {
        (Some(b), Some(s)) => b < s,
        _ => true,
    };
    if stale {
        let profile = profile_dir
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a profile directory name");
        let target_dir = profile_dir.parent().expect("the target directory");
        let mut cmd = cargo_command();
        cmd.args(["build", "--locked", "--quiet", "-p", package, "--bin", name])
            .arg("--target-dir")
            .arg(target_dir);
        if profile != "debug" {
            cmd.args(["--profile", profile]);
        }
        eprintln!("building {name} (missing or older than its sources): {cmd:?}");
        let out = cmd.output().expect("run cargo");
        assert!(
            out.status.success(),
            "cargo build of {name} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(path.is_file(), "{} does not exist", path.display());
    built.insert(name.to_string(), path.clone());
    path
}

/// The Cargo that runs this test or binary, in the workspace, without the variables Cargo set
/// for it: build scripts that watch them (ring's watches `CARGO_PKG_NAME`) would otherwise run
/// again, there and in the next `cargo test`.
pub fn cargo_command() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("CARGO_PKG_")
            || key.starts_with("CARGO_CFG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_MANIFEST_LINKS",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
                "CARGO_TARGET_TMPDIR",
                "CARGO_RUSTC_CURRENT_DIR",
                "OUT_DIR",
            ]
            .contains(&key.as_ref())
        {
            cmd.env_remove(key.as_ref());
        }
    }
    cmd.current_dir(workspace());
    cmd
}

/// The workspace's root directory.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

/// The newest modification time of a file, or of the files under a directory (skipping
/// `target` and hidden directories).
fn newest_mtime(path: &Path) -> Option<SystemTime> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_dir() {
        return meta.modified().ok();
    }
    std::fs::read_dir(path)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            // What a binary is not built from: a test, bench or fixture edited after the
            // build must not make it look stale (rebuilding it from inside `cargo test`
            // would wait on the build directory's lock that `cargo test` holds).
            !matches!(
                n.as_ref(),
                "target" | "tests" | "benches" | "examples" | "fixtures"
            ) && !n.starts_with('.')
        })
        .filter_map(|e| newest_mtime(&e.path()))
        .max()
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed (SIGKILL) and reaped when dropped, so that a failing test leaves no
/// process behind.
pub struct KillOnDrop(pub Child);

impl KillOnDrop {
    /// Its process id.
    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.0.try_wait(), Ok(None))
    }

    /// Sends SIGTERM and waits up to `within` for it to exit; SIGKILL then. Whether it exited
    /// by itself.
    pub fn terminate(&mut self, within: Duration) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if !self.running() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
        false
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// A `vouch serve --config FILE` child process on a fixed loopback port.
pub struct ServeProcess {
    /// `https://localhost:<port>`.
    pub url: String,
    /// Its data directory (database, receipt key, local CA).
    pub data_dir: PathBuf,
    /// The configuration file.
    pub config_path: PathBuf,
    /// Where its standard output and error go, across restarts.
    pub log_path: PathBuf,
    /// Environment given to it and to the admin commands (database URL, credentials).
    env: Vec<(String, String)>,
    child: Option<KillOnDrop>,
}

impl ServeProcess {
    /// Writes a configuration in `dir` (SQLite in `dir/data` unless `extra` says otherwise,
    /// listening on a free loopback port) and starts the server; returns once `/healthz` answers over HTTPS. `extra` is
    /// TOML put after the top-level keys (top-level keys first, then tables); `env` is set for
    /// the server (e.g. the object store's credentials).
    pub async fn start(dir: &Path, extra: &str, env: &[(&str, &str)]) -> ServeProcess {
        std::fs::create_dir_all(dir).unwrap();
        let data_dir = dir.join("data");
        let port = free_port();
        let config_path = dir.join("server.toml");
        std::fs::write(
            &config_path,
            format!(
                "listen = \"127.0.0.1:{port}\"\ndata_dir = {:?}\nlog_format = \"json\"\n{extra}\n",
                data_dir.display().to_string()
            ),
        )
        .unwrap();
        let mut server = ServeProcess {
            url: format!("https://localhost:{port}"),
            data_dir,
            config_path,
            log_path: dir.join("server.log"),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            child: None,
        };
        server.restart().await;
        server
    }

    /// The CA certificate agents trust (made by the first start).
    pub fn ca_path(&self) -> PathBuf {
        self.data_dir.join("tls/ca.pem")
    }

    /// The CA certificate's PEM.
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self.ca_path()).expect("the server's CA")
    }

    /// Its process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(KillOnDrop::id)
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Starts it (again) on the same configuration; returns once `/healthz` answers. A start
    /// that fails because the port is not free yet is retried.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        let exe = binary("vouch", "vouch");
        let started = Instant::now();
        loop {
            let log = File::options()
                .create(true)
                .append(true)
                .open(&self.log_path)
                .unwrap();
            let mut cmd = Command::new(&exe);
            cmd.arg("serve")
                .arg("--config")
                .arg(&self.config_path)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log);
            for (k, v) in &self.env {
                cmd.env(k, v);
            }
            let mut child = KillOnDrop(cmd.spawn().expect("spawn vouch serve"));
            loop {
                if !child.running() {
                    break;
                }
                if self.healthy().await {
                    self.child = Some(child);
                    return;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(90),
                    "vouch serve not ready after 90 s; its log:\n{}",
                    self.log()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            // It exited: retry while the port may still be held, then give up with its log.
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "vouch serve exited; its log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn healthy(&self) -> bool {
        // The CA is written before the port is bound: once it accepts, the file is complete.
        let port = self.url.rsplit(':').next().unwrap();
        if std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err() {
            return false;
        }
        let client = https_client(&self.ca_pem());
        matches!(
            client
                .get(format!("{}/healthz", self.url))
                .timeout(Duration::from_secs(2))
                .send()
                .await,
            Ok(r) if r.status() == 200
        )
    }

    /// `kill -9`: SIGKILL, no chance to finish anything; returns once the process is reaped.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("the server is running");
        child.0.kill().expect("SIGKILL");
        let status = child.0.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "killed by SIGKILL: {status:?}");
    }

    /// SIGTERM, as `systemctl stop` does; returns once it exited (SIGKILL after 30 s, which
    /// fails the test).
    pub fn stop(&mut self) {
        let mut child = self.child.take().expect("the server is running");
        assert!(
            child.terminate(Duration::from_secs(30)),
            "vouch serve did not stop on SIGTERM; its log:\n{}",
            self.log()
        );
    }

    /// `vouch token create` on its data directory (with its environment): an API token of
    /// `role`, or an enrolment token with `scope`.
    pub fn token(&self, role: &str, scope: &[&str]) -> String {
        let mut cmd = Command::new(binary("vouch", "vouch"));
        cmd.args(["token", "create", "--role", role, "--label", "faults"])
            .arg("--data-dir")
            .arg(&self.data_dir);
        for s in scope {
            cmd.args(["--scope", s]);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "vouch token create: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}
