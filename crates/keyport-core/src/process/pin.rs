//! A process held by the agent for as long as a request lasts: by a pidfd on Linux, so that a
//! pid reused by another process after the first one ended is not taken for it, and by the
//! device and inode of the file it ran, so that one that replaced itself (`execve`) with another
//! program is no longer it (see `agent::caller`).

use super::proc_fs::exe_file;
use super::snapshot::Snapshot;
#[cfg(target_os = "linux")]
use std::os::fd::{FromRawFd, OwnedFd};

pub struct Pin {
    pid: u32,
    #[cfg(target_os = "linux")]
    pidfd: Option<OwnedFd>,
    exe: Option<(u64, u64)>,
    /// Keyport's CLI, which may make itself non-dumpable (hiding its executable) once pinned.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    may_hide: bool,
}

impl Pin {
    /// Pins process `pid`, as `seen` knows it: the file it ran when it was named is the one it
    /// must still run (a file read afresh here could already be another program's).
    pub fn new(seen: &mut Snapshot, pid: u32, may_hide: bool) -> Pin {
        #[cfg(target_os = "linux")]
        let pidfd = {
            // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
            // SAFETY: a non-negative result is a descriptor this process now owns.
            (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd as i32) })
        };
        Pin {
            pid,
            #[cfg(target_os = "linux")]
            pidfd,
            exe: seen.file(pid).map(|f| f.id),
            may_hide,
        }
    }

    /// Whether the process still lives and runs the file it ran when pinned (or, one that may,
    /// has only hidden it).
    pub fn unchanged(&self) -> bool {
        let exe = exe_file(self.pid).map(|f| f.id);
        #[cfg(target_os = "linux")]
        if let Some(fd) = &self.pidfd {
            use std::os::fd::AsRawFd;
            // Signal 0 checks without sending: it fails once the pinned process has ended, even
            // if its pid now belongs to another.
            // SAFETY: a plain system call on a descriptor we own.
            let alive = unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    0,
                    std::ptr::null::<u8>(),
                    0,
                )
            } == 0;
            if !alive {
                return false;
            }
            if self.may_hide && self.exe.is_some() && exe.is_none() {
                return true; // it hid itself (see the module's doc)
            }
        }
        exe == self.exe
    }
}
