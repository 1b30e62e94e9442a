//! A private one-node Slurm cluster for tests: Debian's `munged`, `slurmctld` and `slurmd`
//! started in the foreground with their configuration, key, sockets, state and logs in one
//! directory, on free ports, and stopped by the process ids this helper started.
//!
//! The settings are those that work on a plain Debian machine without systemd or cgroups:
//! `SlurmUser=root`, `ProctrackType=proctrack/linuxproc`, `TaskPlugin=task/none`,
//! `SelectType=select/cons_tres` and no `cgroup.conf`. Every Slurm command goes through
//! [`Cluster::command`], which points `SLURM_CONF` at the private configuration and passes none of
//! the caller's environment but `PATH` and `HOME`.

use std::fs::File;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The Debian packages the cluster needs (`make system-deps` installs them).
pub const PACKAGES: &str = "slurmd slurmctld slurm-client munge";

/// The programs the cluster runs, as Debian installs them.
const PROGRAMS: [&str; 8] = [
    "/usr/sbin/munged",
    "/usr/sbin/slurmctld",
    "/usr/sbin/slurmd",
    "/usr/bin/sbatch",
    "/usr/bin/scontrol",
    "/usr/bin/squeue",
    "/usr/bin/scancel",
    "/usr/bin/sinfo",
];

/// The partition every job runs in.
pub const PARTITION: &str = "smolbench";

/// A running cluster; its daemons are stopped when it is dropped.
pub struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
    /// The daemons in start order, with their names.
    daemons: Vec<(&'static str, Child)>,
    /// From the first daemon started to the node reported idle.
    pub started_in: Duration,
}

/// Why no cluster could be started here: a line for the test's skip message.
#[derive(Debug)]
pub struct Unavailable(pub String);

fn run_quietly(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).stderr(Stdio::null()).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Two TCP ports nothing listens on now.
fn free_ports() -> std::io::Result<(u16, u16)> {
    let a = TcpListener::bind("0.0.0.0:0")?;
    let b = TcpListener::bind("0.0.0.0:0")?;
    Ok((a.local_addr()?.port(), b.local_addr()?.port()))
}

/// Half the machine's memory in MiB, as the node's `RealMemory`.
fn half_memory_mib() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(2 << 20);
    (kib / 1024 / 2).max(1024)
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// The last lines of a log file, for error messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| format!("({}: {e})", path.display()));
    let all: Vec<&str> = text.lines().collect();
    format!("{}:\n{}", path.display(), all[all.len().saturating_sub(lines)..].join("\n"))
}

impl Cluster {
    /// Starts munged, slurmctld and slurmd under `dir` (which must be empty or absent) and waits
    /// (at most 60 s) until the node is idle. `Unavailable` where Slurm is not installed, the
    /// daemons cannot run as root here, or they do not come up.
    pub fn start(dir: &Path) -> Result<Cluster, Unavailable> {
        if let Some(missing) = PROGRAMS.iter().find(|p| !Path::new(p).is_file()) {
            return Err(Unavailable(format!(
                "Slurm is not installed ({missing} is absent); `make system-deps` installs {PACKAGES}"
            )));
        }
        if run_quietly("id", &["-u"]).as_deref() != Some("0") {
            return Err(Unavailable("the Slurm daemons run as root (SlurmUser=root) and this test is not root".into()));
        }
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .and_then(|h| h.trim().split('.').next().map(str::to_string))
            .filter(|h| !h.is_empty())
            .ok_or_else(|| Unavailable("cannot read this machine's host name".into()))?;
        let io = |what: &str, e: std::io::Error| Unavailable(format!("{what}: {e}"));
        let (ctld_port, slurmd_port) = free_ports().map_err(|e| io("finding free ports", e))?;

        // munged checks that every directory above its socket is searchable by all and that its
        // key is readable by its owner only.
        let mut ancestor = Some(dir);
        while let Some(d) = ancestor.filter(|d| d.starts_with(std::env::temp_dir()) && *d != std::env::temp_dir()) {
            if d.exists() {
                set_mode(d, 0o755).map_err(|e| io(&format!("chmod {}", d.display()), e))?;
            }
            ancestor = d.parent();
        }
        for sub in ["munge", "run", "state", "spool", "log"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| io("creating the cluster's folders", e))?;
        }
        set_mode(dir, 0o755).map_err(|e| io("chmod", e))?;
        set_mode(&dir.join("munge"), 0o700).map_err(|e| io("chmod", e))?;
        set_mode(&dir.join("run"), 0o755).map_err(|e| io("chmod", e))?;
        let key_path = dir.join("munge/munge.key");
        let mut key = vec![0u8; 1024];
        File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut key))
            .map_err(|e| io("reading /dev/urandom", e))?;
        std::fs::write(&key_path, &key).map_err(|e| io("writing the munge key", e))?;
        set_mode(&key_path, 0o400).map_err(|e| io("chmod", e))?;

        let socket = dir.join("run/munge.socket");
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let p = |rel: &str| dir.join(rel).display().to_string();
        let conf_text = format!(
            "# A one-node test cluster written by SmolBench's Slurm test.
ClusterName=smolbench-test
SlurmctldHost={host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={socket}
StateSaveLocation={state}
SlurmdSpoolDir={spool}
SlurmctldPidFile={ctld_pid}
SlurmdPidFile={slurmd_pid}
SlurmctldLogFile={ctld_log}
SlurmdLogFile={slurmd_log}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
KillWait=5
MinJobAge=3600
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem} State=UNKNOWN
PartitionName={PARTITION} Nodes={host} Default=YES MaxTime=INFINITE State=UP
",
            socket = socket.display(),
            state = p("state"),
            spool = p("spool"),
            ctld_pid = p("run/slurmctld.pid"),
            slurmd_pid = p("run/slurmd.pid"),
            ctld_log = p("log/slurmctld.log"),
            slurmd_log = p("log/slurmd.log"),
            mem = half_memory_mib(),
        );
        let conf = dir.join("slurm.conf");
        std::fs::write(&conf, conf_text).map_err(|e| io("writing slurm.conf", e))?;

        let mut cluster = Cluster { dir: dir.to_path_buf(), conf, daemons: Vec::new(), started_in: Duration::ZERO };
        let started = Instant::now();
        let conf_s = cluster.conf.display().to_string();
        let daemons: [(&'static str, Vec<String>); 3] = [
            (
                "munged",
                vec![
                    "--foreground".into(),
                    format!("--socket={}", socket.display()),
                    format!("--key-file={}", key_path.display()),
                    format!("--log-file={}", p("log/munged.log")),
                    format!("--pid-file={}", p("run/munged.pid")),
                    format!("--seed-file={}", p("munge/munged.seed")),
                ],
            ),
            ("slurmctld", vec!["-D".into(), "-f".into(), conf_s.clone()]),
            ("slurmd", vec!["-D".into(), "-f".into(), conf_s, "-N".into(), host.clone()]),
        ];
        for (name, args) in daemons {
            let program = format!("/usr/sbin/{name}");
            let out = File::create(dir.join(format!("log/{name}.out"))).map_err(|e| io("creating a log", e))?;
            let err = out.try_clone().map_err(|e| io("creating a log", e))?;
            let child = Command::new(&program)
                .args(&args)
                .env_clear()
                .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
                .env("SLURM_CONF", &cluster.conf)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .map_err(|e| io(&format!("starting {program}"), e))?;
            cluster.daemons.push((name, child));
            if name == "munged" {
                cluster.wait_until(Duration::from_secs(20), "munged's socket", |_| socket.exists())?;
            }
        }
        cluster.wait_until(Duration::from_secs(60), "the node to be idle", |c| {
            c.output("sinfo", &["-h", "-N", "-o", "%T"]).is_some_and(|s| s.trim() == "idle")
        })?;
        cluster.started_in = started.elapsed();
        Ok(cluster)
    }

    /// Polls `ready` every 100 ms until it holds; fails with the daemons' logs when one exits or
    /// `limit` passes.
    fn wait_until(&mut self, limit: Duration, what: &str, ready: impl Fn(&Cluster) -> bool) -> Result<(), Unavailable> {
        let deadline = Instant::now() + limit;
        loop {
            if ready(self) {
                return Ok(());
            }
            let exited = self.daemons.iter_mut().find_map(|(name, child)| {
                child.try_wait().ok().flatten().map(|status| format!("{name} exited ({status})"))
            });
            if exited.is_some() || Instant::now() > deadline {
                let why = exited.unwrap_or_else(|| format!("no {what} within {} s", limit.as_secs()));
                let logs: Vec<String> = self
                    .daemons
                    .iter()
                    .map(|(name, _)| log_tail(&self.dir.join(format!("log/{name}.out")), 8))
                    .collect();
                return Err(Unavailable(format!("the Slurm cluster did not start: {why}\n{}", logs.join("\n"))));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The cluster's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A Slurm client command for this cluster, with only `PATH`, `HOME` and `SLURM_CONF` set.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()))
            .env("HOME", std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
            .env("SLURM_CONF", &self.conf);
        cmd
    }

    /// Standard output of a client command that succeeded.
    pub fn output(&self, program: &str, args: &[&str]) -> Option<String> {
        let out = self.command(program).args(args).stderr(Stdio::null()).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs a client command and panics with its error output unless it succeeds.
    pub fn must(&self, program: &str, args: &[&str]) -> String {
        let out: Output = self.command(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `JobState` and `Reason` of one job (an array task as `ID_I`), while Slurm remembers it.
    pub fn job_state(&self, job: &str) -> Option<(String, String)> {
        let line = self.output("scontrol", &["show", "job", "-o", job])?;
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
                .map(str::to_string)
        };
        Some((field("JobState")?, field("Reason").unwrap_or_default()))
    }

    /// Waits (at most `limit`) until `job` is in a state `done` accepts; returns that state.
    pub fn wait_for_job(
        &self,
        job: &str,
        limit: Duration,
        done: impl Fn(&str, &str) -> bool,
        context: impl Fn() -> String,
    ) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let state = self.job_state(job);
            if let Some((state, reason)) = &state {
                if done(state, reason) {
                    return state.clone();
                }
            }
            assert!(
                Instant::now() < deadline,
                "job {job} still {state:?} after {} s\n{}\n{}",
                limit.as_secs(),
                self.output("squeue", &["-a"]).unwrap_or_default(),
                context()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Sends `signal` to every daemon still running, then waits for it (at most 10 s).
    fn signal_daemons(&mut self, signal: &str) {
        for (_, child) in self.daemons.iter_mut().rev() {
            if child.try_wait().ok().flatten().is_none() {
                let _ = Command::new("kill").args([signal, &child.id().to_string()]).status();
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && self.daemons.iter_mut().any(|(_, c)| c.try_wait().ok().flatten().is_none()) {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Cluster {
    /// Cancels every job of this cluster (no job outlives it), then stops slurmd, slurmctld and
    /// munged by their process ids: SIGTERM, and SIGKILL for any that has not ended in 10 s.
    fn drop(&mut self) {
        if self.daemons.len() == 3 {
            let _ = self.command("/usr/bin/scancel").args(["--partition", PARTITION]).status();
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline
                && self.output("squeue", &["-h", "-o", "%i"]).is_some_and(|s| !s.trim().is_empty())
            {
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        self.signal_daemons("-TERM");
        for (_, child) in &mut self.daemons {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
