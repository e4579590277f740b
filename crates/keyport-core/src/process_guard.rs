//! Keeping the tokens a process holds in that process: what ssh-agent and gpg-agent do.
//!
//! A process that holds tokens for a while (the agent, the desktop app) makes itself
//! non-dumpable: on Linux another process of the same user can then neither read its memory
//! (`/proc/<pid>/mem`, ptrace) nor its environment, and a crash writes no core file that the user
//! could read (with systemd-coredump it would sit on disk with live tokens in it). Short-lived CLI
//! processes are left alone: the agent identifies its callers by `/proc/<pid>/exe`, which a
//! non-dumpable caller would hide from it. `keyport mcp`, which stays as long as its MCP client,
//! is guarded too, once the agent has pinned it through a held connection (`ops::held_agent`).
//!
//! What this cannot do: root, and a process of the same user that has `CAP_SYS_PTRACE`, still read
//! anything; and a same-user process can ask the Secret Service for the items directly (see
//! docs/SECURITY.md).

/// Forbids other processes of the same user to read this process's memory, and core files of
/// it. Call early in a process that holds tokens for long. On Linux, non-dumpable does both (and
/// is not inherited by programs it starts, unlike a core-size limit, which would reach the
/// browser); elsewhere on Unix, core files are forbidden.
pub fn forbid_memory_reads() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with PR_SET_DUMPABLE takes plain integers and touches no memory of ours.
        let done = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
        if done != 0 {
            tracing::warn!(error = %std::io::Error::last_os_error(), "could not make this process non-dumpable");
        }
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        let none = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: `none` is a valid rlimit that lives across the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) } != 0 {
            tracing::warn!(error = %std::io::Error::last_os_error(), "could not forbid core files");
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn a_guarded_process_is_not_dumpable() {
        // In a child, so that the test process itself stays debuggable.
        // SAFETY: fork in a test; the child only makes system calls and exits.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            super::forbid_memory_reads();
            // SAFETY: a plain system call.
            let ok = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) == 0 };
            // SAFETY: leaves the forked child without running the test harness's destructors.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        let mut status = 0;
        // SAFETY: waits for the child forked above.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "{status}"
        );
    }
}
