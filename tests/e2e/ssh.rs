//! A forwarded agent over SSH: `keyport ssh` to a real OpenSSH server on loopback, where the
//! session is "another machine" (a Keyport home of its own, no accounts, no keychain) and asks
//! the desktop's agent through the forwarded socket.

use keyport_test_support::{Env, GitServer, Run, SshServer};
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

const KEYPORT: &str = env!("CARGO_BIN_EXE_keyport");

/// The remote `keyport` takes the newest forward of its user in /tmp: these tests take turns,
/// so that each one's remote finds its own desktop.
static ONE_FORWARD_AT_A_TIME: Mutex<()> = Mutex::new(());

/// `keyport ssh <server> <remote command>` from the desktop `env`.
fn over_ssh(env: &Env, ssh: &SshServer, remote: &str) -> Run {
    let mut args: Vec<String> = vec!["ssh".into()];
    args.extend(ssh.ssh_args());
    args.push(remote.into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let started = Instant::now();
    let run = env.run(&args);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the remote command hung: {run:?}"
    );
    run
}

/// A remote command run by python3 there, so that the program the remote claims is known.
fn by_python(args: &[&str]) -> String {
    let argv: Vec<String> = std::iter::once(KEYPORT)
        .chain(args.iter().copied())
        .map(|a| format!("'{a}'"))
        .collect();
    format!(
        "python3 -c \"import subprocess, sys; sys.exit(subprocess.call([{}]))\"",
        argv.join(", ")
    )
}

/// Every file under `dir`, read.
fn all_text(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.push_str(&all_text(&path));
        } else {
            out.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
    out
}

#[test]
fn a_machine_reached_with_keyport_ssh_gets_tokens_of_the_accounts_allowed_there_only() {
    let _turn = ONE_FORWARD_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let env = Env::new(600);
    let id = env.connect("alice");
    let other = env.connect("bob");
    let ssh = SshServer::start();

    // No agent on the desktop: nothing to forward, and it says so.
    env.run(&["ssh", "-p", "1", "nowhere"])
        .fails(7, "no Keyport agent runs on this machine");
    let _agent = env.agent();
    let local = env.run(&["token", &id]).ok().stdout;

    // Off until allowed: the remote is told how to allow it (exit 9), and gets nothing.
    let refused = over_ssh(&env, &ssh, &by_python(&["token", &id]));
    assert_eq!(refused.code, 9, "{refused:?}");
    assert!(
        refused.stderr.contains("no account allowed over SSH matches"),
        "{refused:?}"
    );
    assert!(
        refused.stderr.contains("`keyport forwarding ACCOUNT on`") && !refused.stderr.contains("alice"),
        "{refused:?}"
    );
    assert!(!refused.stdout.contains(&local));

    env.run(&["forwarding", &id, "on"]).ok();
    let remote = over_ssh(&env, &ssh, &by_python(&["token", &id]));
    assert_eq!(remote.code, 0, "{remote:?}");
    assert_eq!(
        remote.stdout.trim(),
        local.trim(),
        "the desktop's token, from its agent"
    );

    // Every format; `exec`; the list shows the allowed account only, metadata only.
    let json: serde_json::Value = serde_json::from_str(
        &over_ssh(&env, &ssh, &format!("{KEYPORT} token {id} --json"))
            .ok()
            .stdout,
    )
    .unwrap();
    assert_eq!(json["account"], id.as_str());
    let header = over_ssh(&env, &ssh, &format!("{KEYPORT} token {id} --format header")).ok();
    assert_eq!(
        header.stdout.trim(),
        format!("Authorization: Bearer {}", local.trim())
    );
    let exec = over_ssh(
        &env,
        &ssh,
        &format!(
            "{KEYPORT} exec {id} --env T -- sh -c 'test \"$T\" = {}'",
            local.trim()
        ),
    );
    assert_eq!(exec.code, 0, "{exec:?}");
    let listed: serde_json::Value = serde_json::from_str(
        &over_ssh(&env, &ssh, &format!("{KEYPORT} list --json"))
            .ok()
            .stdout,
    )
    .unwrap();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![id.as_str()], "{listed}");
    assert!(!listed.to_string().contains(local.trim()));
    // The same account as the desktop's own `list --json` shows it, field for field (the
    // seconds left aside: they run on between the two), and the same table row.
    let desktop: serde_json::Value = serde_json::from_str(&env.run(&["list", "--json"]).ok().stdout).unwrap();
    let mine = desktop
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == id.as_str())
        .unwrap();
    let without_seconds = |a: &serde_json::Value| {
        let mut a = a.as_object().unwrap().clone();
        a.remove("expires_in");
        a.into_iter().collect::<Vec<_>>()
    };
    assert_eq!(without_seconds(&listed[0]), without_seconds(mine));
    let row = |out: String| {
        out.lines()
            .find(|l| l.starts_with(id.as_str()))
            .map(|l| l.split_whitespace().take(4).collect::<Vec<_>>().join(" "))
    };
    let remote_table = over_ssh(&env, &ssh, &format!("{KEYPORT} list")).ok().stdout;
    assert_eq!(
        row(remote_table.clone()),
        row(env.run(&["list"]).ok().stdout),
        "{remote_table}"
    );
    // Another account's name tells the remote nothing (not even that it exists), and a provider's
    // name means the one account allowed there.
    let probe = over_ssh(&env, &ssh, &format!("{KEYPORT} token {other}"))
        .fails(9, "no account allowed over SSH matches");
    assert!(!probe.stderr.contains("bob"), "{probe:?}");
    let by_provider = over_ssh(&env, &ssh, &format!("{KEYPORT} token demo")).ok();
    assert_eq!(by_provider.stdout.trim(), local.trim());
    // A name no account has reads the same as one not allowed there.
    over_ssh(&env, &ssh, &format!("{KEYPORT} token nobody")).fails(9, "\"nobody\"");
    // What is the desktop's to do is done there; `keyport agent` has no window to ask whether to
    // sign in for the remote (the app does: tests/gui).
    over_ssh(&env, &ssh, &format!("{KEYPORT} rename {id} x")).fails(7, "accounts of the desktop");
    over_ssh(&env, &ssh, &format!("{KEYPORT} connect demo")).fails(7, "no window to ask in");
    // A sign-in from over there takes the provider as the desktop declares it.
    over_ssh(&env, &ssh, &format!("{KEYPORT} connect demo --nickname x"))
        .fails(7, "as the desktop declares it");

    // The audit names the SSH connection, and the remote's claim as the program.
    let uses = env.audit();
    let forwarded: Vec<&serde_json::Value> = uses.iter().filter(|u| u["via"] == "ssh").collect();
    assert!(!forwarded.is_empty(), "{uses:?}");
    assert!(
        forwarded
            .iter()
            .all(|u| u["over_ssh"] == ssh.destination().as_str()),
        "{forwarded:?}"
    );
    assert!(
        forwarded
            .iter()
            .any(|u| u["program"].as_str().unwrap().starts_with("python3")),
        "{forwarded:?}"
    );

    // Nothing was written on the remote: no token in its home, no keychain there.
    assert!(!all_text(ssh.remote_home.path()).contains(local.trim()));

    // Off again: refused again.
    env.run(&["forwarding", &id, "off"]).ok();
    over_ssh(&env, &ssh, &format!("{KEYPORT} token {id}")).fails(9, "no account allowed over SSH matches");
}

#[test]
fn git_on_the_remote_machine_pushes_with_the_desktops_account() {
    let _turn = ONE_FORWARD_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let env = Env::new(600);
    let server = GitServer::start(&env.server.issuer);
    let file = env.home.path().join("config/providers.toml");
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "[providers.demo]\n",
        &format!(
            "[providers.demo]\ngit_username = \"oauth2\"\ngit_url = \"{}\"\n",
            server.url
        ),
    );
    std::fs::write(&file, text).unwrap();
    let id = env.connect("alice");
    env.run(&["forwarding", &id, "on"]).ok();
    let _agent = env.agent();
    let url = server.create("remote.git");
    let ssh = SshServer::start();
    let work = ssh.remote_home.path().join("work");
    let helper = format!("credential.helper=!{KEYPORT} git-credential");
    let script = format!(
        "set -e; git -c credential.helper= -c '{helper}' clone --quiet {url} {work}; cd {work}; \
         echo hi > README; git add README; \
         git -c user.name=Ada -c user.email=ada@example.test commit --quiet -m remote; \
         git -c credential.helper= -c '{helper}' push --quiet origin HEAD:main",
        work = work.display()
    );
    let run = over_ssh(&env, &ssh, &format!("GIT_TERMINAL_PROMPT=0 sh -c \"{script}\""));
    assert_eq!(run.code, 0, "{run:?}");
    let token = env.run(&["token", &id]).ok().stdout;
    assert!(
        server
            .seen()
            .iter()
            .any(|(user, t)| user == "oauth2" && t == token.trim()),
        "the git server saw the desktop's token"
    );
}

#[test]
fn a_forward_that_leads_nowhere_fails_clearly_and_quickly() {
    let _turn = ONE_FORWARD_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let env = Env::new(600);
    let id = env.connect("alice");
    env.run(&["forwarding", &id, "on"]).ok();
    let ssh = SshServer::start();
    let agent = env.agent();

    // A socket an ended session left behind, newer than the live one: skipped and removed.
    let script = format!(
        "python3 -c \"import socket; s = socket.socket(socket.AF_UNIX); s.bind('/tmp/keyport-forward-stale-{pid}.sock')\" && \
         chmod 600 /tmp/keyport-forward-stale-{pid}.sock && {KEYPORT} token {id} && \
         test ! -e /tmp/keyport-forward-stale-{pid}.sock",
        pid = std::process::id()
    );
    let run = over_ssh(&env, &ssh, &script);
    assert_eq!(run.code, 0, "{run:?}");

    // The desktop's agent stops while the session lasts: the remote is told, at once.
    let (ready, go) = (
        ssh.remote_home.path().join("ready"),
        ssh.remote_home.path().join("go"),
    );
    let script = format!(
        "{KEYPORT} token {id} >/dev/null && touch {ready} && \
         while [ ! -e {go} ]; do sleep 0.05; done; {KEYPORT} token {id}",
        ready = ready.display(),
        go = go.display()
    );
    let mut args: Vec<String> = vec!["ssh".into()];
    args.extend(ssh.ssh_args());
    args.push(script);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let session = env
        .command(&args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !ready.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the first token did not come"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(agent);
    std::fs::write(&go, "").unwrap();
    let gone: Run = session.wait_with_output().unwrap().into();
    assert_eq!(gone.code, 1, "{gone:?}");
    assert!(gone.stderr.contains("no Keyport agent answers"), "{gone:?}");

    // A socket named by KEYPORT_AGENT in a directory another user owns is refused (exit 8).
    let nobody = tempfile::tempdir().unwrap();
    if std::process::Command::new("chown")
        .args(["65534"])
        .arg(nobody.path())
        .status()
        .is_ok_and(|s| s.success())
    {
        let socket = nobody.path().join("agent.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let run = env
            .command(&["token", &id])
            .env("KEYPORT_AGENT", &socket)
            .env("KEYPORT_HOME", ssh.remote_home.path())
            .output()
            .unwrap();
        let run: Run = run.into();
        run.fails(8, "belongs to user 65534");
    }
}

/// Whether a request is another machine's is decided by the socket it came through: an `ssh`
/// of the person's own (a copy in a directory anyone may write to, as conda's, Homebrew's or
/// `~/bin`'s look to the system) forwards the same as the system's, and what arrives through it
/// is still judged as the remote's. A local program cannot pass for a remote one with a claim.
#[test]
fn a_forward_is_known_by_its_socket_whichever_ssh_carries_it() {
    use std::os::unix::fs::PermissionsExt;
    let _turn = ONE_FORWARD_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let env = Env::new(600);
    let id = env.connect("alice");
    let other = env.connect("bob");
    env.run(&["forwarding", &id, "on"]).ok();
    let ssh = SshServer::start();
    let agent = env.agent();

    let bin = tempfile::tempdir().unwrap();
    std::fs::copy("/usr/bin/ssh", bin.path().join("ssh")).unwrap();
    std::fs::set_permissions(bin.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let through_own_ssh = |remote: &str| -> Run {
        let mut args: Vec<String> = vec!["ssh".into()];
        args.extend(ssh.ssh_args());
        args.push(remote.into());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        env.command(&args).env("PATH", &path).output().unwrap().into()
    };
    let listed: serde_json::Value =
        serde_json::from_str(&through_own_ssh(&format!("{KEYPORT} list --json")).ok().stdout).unwrap();
    let ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec![id.as_str()],
        "the remote saw more than it may: {listed}"
    );
    through_own_ssh(&format!("{KEYPORT} token {other}")).fails(9, "no account allowed over SSH matches");
    let token = through_own_ssh(&format!("{KEYPORT} token {id}")).ok().stdout;
    let uses = env.audit();
    let last = uses.last().unwrap();
    assert_eq!(last["via"], "ssh", "{last}");
    assert_eq!(last["over_ssh"], ssh.destination().as_str(), "{last}");

    // The forwarding socket lived as long as its connection: none is left beside the agent's.
    let data = env.home.path().join("data");
    let left: Vec<_> = std::fs::read_dir(&data)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("forward-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // A claim of another machine, sent on the desktop's own socket, is refused.
    let mut stream = std::os::unix::net::UnixStream::connect(&agent.socket).unwrap();
    std::io::Write::write_all(
        &mut stream,
        format!("{{\"account\":\"{other}\",\"min_ttl\":60,\"claim\":{{\"program\":\"git\",\"host\":\"devbox\"}}}}\n")
            .as_bytes(),
    )
    .unwrap();
    let mut answer = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(&stream), &mut answer).unwrap();
    assert!(
        answer.contains("\"answer\":\"error\"") && answer.contains("own agent socket"),
        "{answer}"
    );
    assert!(!answer.contains(token.trim()));

    // `keyport ssh --config HOST`: a standing socket for that host, named in the entry, whose
    // requests are that host's.
    let entry = env.run(&["ssh", "--config", "devbox"]).ok().stdout;
    let forward = entry
        .lines()
        .find_map(|l| l.trim().strip_prefix("RemoteForward "))
        .unwrap()
        .to_string();
    let (remote_path, local_path) = forward.split_once(' ').unwrap();
    assert!(local_path.contains("ssh-devbox-"), "{entry}");
    let remote_path = remote_path.replace("%C", &format!("cfg{}", std::process::id()));
    let mut args: Vec<String> = vec!["-R".into(), format!("{remote_path}:{local_path}")];
    args.extend(ssh.ssh_args());
    args.push(format!("{KEYPORT} token {id}"));
    let plain: Run = env.program(Path::new("ssh")).args(&args).output().unwrap().into();
    assert_eq!(plain.stdout.trim(), token.trim(), "{plain:?}");
    let last = env.audit().last().unwrap().clone();
    assert_eq!(last["over_ssh"], "devbox", "{last}");
    // It is there again when the agent starts again.
    drop(agent);
    let _again = env.agent();
    assert!(std::os::unix::net::UnixStream::connect(local_path).is_ok());
}
