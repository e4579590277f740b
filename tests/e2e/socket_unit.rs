//! A stand-in for systemd's socket unit (keyport-agent.socket), for the activation tests: it holds
//! the listening socket for as long as it lives and, whenever a connection waits and no agent of
//! its runs, starts `keyport agent` with that socket (`LISTEN_FDS=1`, `LISTEN_PID` the agent's
//! own, descriptor 3), as systemd does. `systemd-socket-activate` starts its program once and
//! then is that program, so it cannot show an agent leaving when idle and the next request
//! starting another. A restart (what `systemctl --user try-restart keyport-agent.socket` does to
//! the unit) closes the socket and listens at the path afresh.

use keyport_test_support::Env;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct SocketUnit {
    /// How many agents it started.
    pub activations: Arc<AtomicUsize>,
    /// The agent running now, if any.
    agent: Arc<Mutex<Option<Child>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// `systemctl` in a directory of its own: asked to try-restart the unit, it has this unit
    /// listen afresh and returns when it does.
    pub systemctl_dir: tempfile::TempDir,
}

impl SocketUnit {
    /// Listens at `path` and starts `keyport agent <agent_args>` for this home on demand.
    pub fn listen(env: &Env, path: &Path, agent_args: &[&str]) -> SocketUnit {
        let systemctl_dir = tempfile::tempdir().unwrap();
        let restart = systemctl_dir.path().join("restart-asked");
        let systemctl = systemctl_dir.path().join("systemctl");
        std::fs::write(
            &systemctl,
            format!(
                "#!/bin/sh\n[ \"$*\" = '--user try-restart keyport-agent.socket' ] || exit 1\n\
                 touch '{0}'\nwhile [ -e '{0}' ]; do sleep 0.01; done\n",
                restart.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&systemctl, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let mut listener = bind(path);
        let (activations, agent, stop) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(Mutex::new(None::<Child>)),
            Arc::new(AtomicBool::new(false)),
        );
        let start_agent = {
            let mut command = env.command(&["agent"]);
            command.args(agent_args);
            command
        };
        let thread = {
            let (activations, agent, stop, path) = (
                activations.clone(),
                agent.clone(),
                stop.clone(),
                path.to_path_buf(),
            );
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    if restart.exists() {
                        // RemoveOnStop=yes, then listening again: the path is this unit's anew.
                        drop(listener);
                        let _ = std::fs::remove_file(&path);
                        listener = bind(&path);
                        std::fs::remove_file(&restart).unwrap();
                    }
                    let mut running = agent.lock().unwrap();
                    if let Some(child) = running.as_mut() {
                        if child.try_wait().unwrap().is_some() {
                            *running = None;
                        }
                    }
                    if running.is_none() && waiting(&listener) {
                        *running = Some(activate(&start_agent, &listener));
                        activations.fetch_add(1, Ordering::SeqCst);
                    }
                    drop(running);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        SocketUnit {
            activations,
            agent,
            stop,
            thread: Some(thread),
            systemctl_dir,
        }
    }

    /// Whether an agent it started runs now.
    pub fn agent_runs(&self) -> bool {
        let mut running = self.agent.lock().unwrap();
        match running.as_mut() {
            Some(child) => child.try_wait().unwrap().is_none(),
            None => false,
        }
    }
}

impl Drop for SocketUnit {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        if let Some(mut child) = self.agent.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn bind(path: &Path) -> UnixListener {
    let listener = UnixListener::bind(path).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    listener
}

/// Whether a connection waits in the listener's queue.
fn waiting(listener: &UnixListener) -> bool {
    let mut poll = libc::pollfd {
        fd: listener.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, a zero timeout.
    unsafe { libc::poll(&raw mut poll, 1, 0) > 0 }
}

/// Starts the agent with the listening socket as descriptor 3 and `LISTEN_PID` its own pid: a
/// shell sets it to `$$` and `exec`s the agent in its place, as systemd sets it after `fork`.
fn activate(agent: &Command, listener: &UnixListener) -> Child {
    let fd = listener.as_raw_fd();
    let mut command = Command::new("sh");
    command
        .args(["-c", "LISTEN_PID=$$ LISTEN_FDS=1 exec \"$@\"", "sh"])
        .arg(agent.get_program())
        .args(agent.get_args())
        .env_clear()
        .envs(agent.get_envs().filter_map(|(n, v)| Some((n, v?))))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(move || {
            if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0);
            } else if libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    command.spawn().unwrap()
}
