//! What the kernel says of a process, read from Linux's `/proc`: the one place in Keyport that
//! reads it (`tests/floors.rs` holds that), so that how a process is known is decided once.

use std::path::PathBuf;

/// The executable of process `pid` (Linux: `/proc/<pid>/exe`).
pub fn exe_path(pid: u32) -> Option<PathBuf> {
    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let text = exe.to_string_lossy();
    Some(match text.strip_suffix(" (deleted)") {
        Some(kept) => PathBuf::from(kept),
        None => exe,
    })
}

/// The command name of process `pid`, for one whose executable cannot be read.
pub fn comm(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The file process `pid` runs, as the kernel's own link to it reports (not the path it names,
/// which another mount namespace can put another file under).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExeFile {
    /// Device and inode: what tells two paths of one file from two files.
    pub id: (u64, u64),
    /// Its owner.
    pub uid: u32,
}

/// The file process `pid` runs (one `statx` of `/proc/<pid>/exe`).
pub fn exe_file(pid: u32) -> Option<ExeFile> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(format!("/proc/{pid}/exe"))
            .ok()
            .map(|m| ExeFile {
                id: (m.dev(), m.ino()),
                uid: m.uid(),
            })
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        None
    }
}

/// The arguments of process `pid`, its own name left out.
pub fn arguments(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| {
            bytes
                .split(|b| *b == 0)
                .skip(1)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether process `pid` sees the same files as this one.
#[cfg(not(target_os = "linux"))]
pub fn same_mount_namespace(_pid: u32) -> bool {
    true
}

/// Whether process `pid` sees the same files as this one.
#[cfg(target_os = "linux")]
pub fn same_mount_namespace(pid: u32) -> bool {
    // This process's own is read once: it does not change while it runs.
    static OURS: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    let ours = OURS.get_or_init(|| std::fs::read_link("/proc/self/ns/mnt").ok());
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/mnt")).ok();
    theirs.is_some() && theirs == *ours
}

/// This machine's host name, as the kernel has it.
pub fn host_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

/// The fields of `/proc/<pid>/stat` that Keyport reads.
#[derive(Debug, Clone)]
pub struct Stat {
    /// The command name (`comm`).
    pub name: String,
    pub ppid: u32,
    pub session: u32,
    /// The controlling terminal's device number; 0 for none.
    pub tty: i64,
}

impl Stat {
    #[cfg(target_os = "linux")]
    pub fn read(pid: u32) -> Option<Stat> {
        use std::io::Read;
        // One read: a procfs file reports no size, so `read_to_string` grows its buffer from 32
        // bytes, six reads per file, and the agent reads several per request. The line is a few
        // hundred bytes (52 numbers and a name of at most 64).
        let mut buf = [0u8; 2048];
        let n = std::fs::File::open(format!("/proc/{pid}/stat"))
            .and_then(|mut f| f.read(&mut buf))
            .ok()?;
        Self::parse(std::str::from_utf8(&buf[..n]).ok()?)
    }

    #[cfg(not(target_os = "linux"))]
    pub fn read(_pid: u32) -> Option<Stat> {
        None
    }

    pub fn parse(text: &str) -> Option<Stat> {
        // The name (field 2) may hold spaces and parentheses; the fields after it are plain.
        let open = text.find('(')?;
        let close = text.rfind(')')?;
        let name = text.get(open + 1..close)?.to_string();
        let rest: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
        Some(Stat {
            name,
            ppid: rest.get(1)?.parse().ok()?,
            session: rest.get(3)?.parse().ok()?,
            tty: rest.get(4)?.parse().ok()?,
        })
    }
}

/// The pid a test's shell writes into `file` (`echo $$ > file`), once it has: a test reads the
/// process it started behind other processes.
#[cfg(all(test, target_os = "linux"))]
pub(crate) fn pid_written_to(file: &std::path::Path) -> u32 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(pid) = std::fs::read_to_string(file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
        {
            return pid;
        }
        assert!(std::time::Instant::now() < deadline, "the shell did not start");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}
