//! Finding, starting and sharing the throwaway cluster behind
//! [`super::fresh_database`].
//!
//! Layout of a cluster directory (`$TMPDIR/agentrace-testkit-pg-<uid>-<key>`):
//!
//! ```text
//! setup.lock      exclusive flock while a process checks, starts or stops the cluster
//! users.lock      shared flock held by every test process using the cluster, until it exits
//! watchdog.lock   exclusive flock held by the one watchdog for as long as it runs
//! watchdog.sh     the watchdog's script (see watchdog.sh in this crate)
//! watchdog.log    the watchdog's stderr
//! port            the TCP port of the running server
//! data/           the cluster (initdb), owned by the server's OS user
//! socket/         the server's private unix-socket directory
//! postgres.log    the server's log
//! ```
//!
//! The directory lives under the temporary directory rather than `target/`
//! because, when tests run as root, the server runs as `postgres` and must be
//! able to reach it, and because a unix-socket path must stay under ~100 bytes.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use anyhow::{anyhow, bail, Context, Result};
use rustix::fs::FlockOperation;

/// The superuser initdb creates; trust authentication lets any OS user in as it.
pub(crate) const SUPERUSER: &str = "postgres";

const WATCHDOG_SCRIPT: &str = include_str!("watchdog.sh");

/// Seconds without any test process before the watchdog stops the cluster.
/// Long enough to bridge the gaps between test binaries and nextest's
/// per-test processes; short enough that nothing outlives a test run by much.
const DEFAULT_IDLE_SECONDS: u32 = 30;

const PORT_ATTEMPTS: usize = 5;

pub(crate) struct Cluster {
    pub(crate) port: u16,
    // Held, never read: the shared flock on users.lock that tells the watchdog
    // this process may still use the cluster. The kernel drops it when the
    // process exits, however it exits.
    _membership: File,
}

impl Cluster {
    pub(crate) fn url(&self, database: &str) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/{database}", self.port)
    }
}

static SHARED: OnceLock<std::result::Result<Cluster, String>> = OnceLock::new();

/// The cluster this process uses, started or joined on first call.
///
/// A failure is remembered: every later test fails at once with the same
/// message instead of each retrying a slow start.
pub(crate) fn shared() -> Result<&'static Cluster> {
    let cluster = SHARED.get_or_init(|| join_or_start().map_err(|error| format!("{error:#}")));
    cluster.as_ref().map_err(|message| anyhow!("the test PostgreSQL cluster is not available: {message}"))
}

/// The directory holding `initdb`, `pg_ctl`, `psql` and friends.
pub fn bin_dir() -> Result<PathBuf> {
    if let Some(configured) = std::env::var_os("AGENTRACE_PG_BIN") {
        let configured = PathBuf::from(configured);
        if configured.join("initdb").is_file() {
            return Ok(configured);
        }
        bail!("AGENTRACE_PG_BIN is {} but there is no initdb in it", configured.display());
    }
    if let Ok(output) = Command::new("pg_config").arg("--bindir").output() {
        let reported = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        // pg_config may come from a client-only package whose bindir has no
        // server; only trust it when initdb is really there.
        if output.status.success() && reported.join("initdb").is_file() {
            return Ok(reported);
        }
    }
    let newest_installed = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let major: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((major, bin))
        })
        .max_by_key(|(major, _)| *major);
    match newest_installed {
        Some((_, bin)) => Ok(bin),
        None => bail!(
            "no PostgreSQL server binaries (initdb) found: install the server package \
             (Debian/Ubuntu: apt-get install postgresql) or set AGENTRACE_PG_BIN to the \
             directory holding initdb and pg_ctl"
        ),
    }
}

/// The OS user the server must run as: `postgres` when we are root (initdb
/// and the server refuse to run as root), else ourselves.
#[derive(Clone, Copy)]
struct ServerOwner {
    uid: u32,
    gid: u32,
}

fn server_owner() -> Result<Option<ServerOwner>> {
    if !rustix::process::geteuid().is_root() {
        return Ok(None);
    }
    let id = |flag: &str| -> Result<u32> {
        let output =
            Command::new("id").args([flag, SUPERUSER]).output().context("run `id` to find the postgres OS user")?;
        if !output.status.success() {
            bail!(
                "tests run as root, so the server must run as the `postgres` OS user, \
                 which does not exist: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        String::from_utf8_lossy(&output.stdout).trim().parse().context("parse the output of `id`")
    };
    Ok(Some(ServerOwner { uid: id("-u")?, gid: id("-g")? }))
}

fn as_owner(command: &mut Command, owner: Option<ServerOwner>) -> &mut Command {
    if let Some(owner) = owner {
        command.uid(owner.uid).gid(owner.gid);
    }
    command
}

fn give_to_owner(path: &Path, owner: Option<ServerOwner>) -> Result<()> {
    if let Some(owner) = owner {
        std::os::unix::fs::chown(path, Some(owner.uid), Some(owner.gid))
            .with_context(|| format!("give {} to the postgres OS user", path.display()))?;
    }
    Ok(())
}

fn cluster_directory(bin_dir: &Path) -> PathBuf {
    if let Some(configured) = std::env::var_os("AGENTRACE_TESTKIT_PG_DIR") {
        return PathBuf::from(configured);
    }
    // One cluster per build directory and server version: test binaries of
    // one checkout share it, other checkouts and versions do not collide.
    let executable = std::env::current_exe().unwrap_or_default();
    let target = executable
        .ancestors()
        .find(|directory| directory.join("CACHEDIR.TAG").is_file())
        .or_else(|| executable.parent())
        .unwrap_or(Path::new("."));
    let key = fnv1a(format!("{}\0{}", target.display(), bin_dir.display()).as_bytes());
    std::env::temp_dir().join(format!("agentrace-testkit-pg-{}-{key:016x}", rustix::process::geteuid().as_raw()))
}

/// A hash that, unlike std's, is the same in every test binary and toolchain.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

fn join_or_start() -> Result<Cluster> {
    let bin_dir = bin_dir()?;
    let owner = server_owner()?;
    let root = cluster_directory(&bin_dir);
    fs::create_dir_all(&root).with_context(|| format!("create {}", root.display()))?;
    give_to_owner(&root, owner)?;
    fs::set_permissions(&root, fs::Permissions::from_mode(0o700))
        .with_context(|| format!("restrict {}", root.display()))?;

    // The watchdog opens these by name, so they exist before it can start.
    for name in ["users.lock", "watchdog.lock"] {
        open_lock_file(&root.join(name))?;
    }
    let setup = lock(&root.join("setup.lock"), FlockOperation::LockExclusive)?;
    let port = match running_port(&root, &bin_dir) {
        Some(port) => port,
        None => start(&root, &bin_dir, owner)?,
    };
    ensure_watchdog(&root, &bin_dir, owner)?;
    let membership = lock(&root.join("users.lock"), FlockOperation::LockShared)?;
    drop(setup);
    Ok(Cluster { port, _membership: membership })
}

fn open_lock_file(path: &Path) -> Result<File> {
    // Readable by all: the watchdog may run as another user and only needs a
    // read-only descriptor to flock.
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(path)
        .with_context(|| format!("open {}", path.display()))
}

fn lock(path: &Path, operation: FlockOperation) -> Result<File> {
    let file = open_lock_file(path)?;
    rustix::fs::flock(&file, operation).with_context(|| format!("lock {}", path.display()))?;
    Ok(file)
}

/// The port of a cluster already serving from `root`, if there is one.
fn running_port(root: &Path, bin_dir: &Path) -> Option<u16> {
    let port: u16 = fs::read_to_string(root.join("port")).ok()?.trim().parse().ok()?;
    // Asking through the private socket directory proves the server on that
    // port is ours, not some other cluster that took the port later.
    let ready = Command::new(bin_dir.join("pg_isready"))
        .arg("-q")
        .arg("-h")
        .arg(root.join("socket"))
        .args(["-p", &port.to_string(), "-U", SUPERUSER])
        .stdin(Stdio::null())
        .status()
        .ok()?;
    ready.success().then_some(port)
}

fn start(root: &Path, bin_dir: &Path, owner: Option<ServerOwner>) -> Result<u16> {
    let data = root.join("data");
    let socket = root.join("socket");
    let log = root.join("postgres.log");
    let port_file = root.join("port");

    // Whatever is left belongs to a cluster that died (or a machine that
    // rebooted): stop it for certain and start over.
    if data.join("postmaster.pid").exists() {
        let _ = run_as_owner(
            Command::new(bin_dir.join("pg_ctl")).arg("stop").arg("-D").arg(&data).args(["-m", "immediate", "-w"]),
            owner,
        );
    }
    for leftover in [&data, &socket] {
        remove_if_present(leftover, |path| fs::remove_dir_all(path))?;
    }
    for leftover in [&log, &port_file] {
        remove_if_present(leftover, |path| fs::remove_file(path))?;
    }
    fs::create_dir(&socket).with_context(|| format!("create {}", socket.display()))?;
    give_to_owner(&socket, owner)?;

    // --no-sync only skips initdb's own fsyncs; the server below runs with
    // fsync on, because durability tests kill it and expect commits to stay.
    let initdb = run_as_owner(
        Command::new(bin_dir.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8"])
            .args(["--locale=C", "--no-sync", "--no-instructions"]),
        owner,
    )?;
    if !initdb.status.success() {
        bail!("initdb failed: {}", String::from_utf8_lossy(&initdb.stderr).trim());
    }
    let settings = format!(
        "\n# agentrace-testkit\n\
         listen_addresses = '127.0.0.1'\n\
         unix_socket_directories = '{}'\n\
         fsync = on\n\
         synchronous_commit = on\n\
         shared_buffers = 128MB\n\
         max_connections = 200\n",
        socket.display().to_string().replace('\'', "''")
    );
    append(&data.join("postgresql.conf"), &settings)?;

    // A port found free can be taken before the server binds it; try again
    // with another.
    let mut last_failure = String::new();
    for _ in 0..PORT_ATTEMPTS {
        let port = free_port()?;
        let log_length_before = fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        let mut pg_ctl = Command::new(bin_dir.join("pg_ctl"));
        pg_ctl
            .arg("start")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-s", "-o", &format!("-p {port}")])
            // Its own process group: Ctrl-C in the terminal, or a test
            // runner signalling a test's group, must not take the shared
            // server down under the other tests.
            .process_group(0);
        let started = run_as_owner(&mut pg_ctl, owner)?;
        if started.status.success() {
            fs::write(&port_file, format!("{port}\n")).with_context(|| format!("write {}", port_file.display()))?;
            return Ok(port);
        }
        last_failure =
            format!("{}\n{}", String::from_utf8_lossy(&started.stderr).trim(), read_from(&log, log_length_before));
        if !last_failure.contains("could not bind") && !last_failure.contains("already in use") {
            break;
        }
    }
    bail!("pg_ctl start failed: {}", last_failure.trim())
}

fn ensure_watchdog(root: &Path, bin_dir: &Path, owner: Option<ServerOwner>) -> Result<()> {
    let probe = open_lock_file(&root.join("watchdog.lock"))?;
    if rustix::fs::flock(&probe, FlockOperation::NonBlockingLockExclusive).is_err() {
        // Held: a watchdog is alive and will look after this cluster too.
        return Ok(());
    }
    drop(probe);
    let idle_seconds = std::env::var("AGENTRACE_TESTKIT_PG_IDLE_SECS")
        .ok()
        .and_then(|value| value.parse::<u32>().ok())
        .unwrap_or(DEFAULT_IDLE_SECONDS);
    // Run from a file rather than `sh -c`, so `ps` shows a name, not the script.
    let script = root.join("watchdog.sh");
    fs::write(&script, WATCHDOG_SCRIPT).with_context(|| format!("write {}", script.display()))?;
    let log_path = root.join("watchdog.log");
    let log = File::create(&log_path).with_context(|| format!("create {}", log_path.display()))?;
    let mut watchdog = Command::new("sh");
    watchdog
        .arg(&script)
        .arg(root)
        .arg(bin_dir.join("pg_ctl"))
        .arg(idle_seconds.to_string())
        .current_dir(root)
        // Nothing inherited: a test runner waits for a test's stdout and
        // stderr to close, and must not wait for the watchdog.
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0);
    as_owner(&mut watchdog, owner).spawn().context("start the test cluster's watchdog (sh)")?;
    Ok(())
}

fn run_as_owner(command: &mut Command, owner: Option<ServerOwner>) -> Result<Output> {
    let program = command.get_program().to_string_lossy().into_owned();
    as_owner(command, owner).stdin(Stdio::null()).output().with_context(|| format!("run {program}"))
}

fn remove_if_present(path: &Path, remove: fn(&Path) -> std::io::Result<()>) -> Result<()> {
    match remove(path) {
        Err(error) if error.kind() != ErrorKind::NotFound => {
            Err(error).with_context(|| format!("remove {}", path.display()))
        }
        _ => Ok(()),
    }
}

fn append(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .with_context(|| format!("append to {}", path.display()))
}

fn read_from(path: &Path, offset: u64) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        let _ = file.seek(SeekFrom::Start(offset));
        let _ = file.read_to_string(&mut text);
    }
    text
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("find a free TCP port")?;
    Ok(listener.local_addr()?.port())
}
