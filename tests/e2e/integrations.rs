//! Keyport in other programs' protocols: git's credential helper against a real git server, a
//! command's environment (`exec`), HTTP headers for curl, SASL strings for mail clients, account
//! rules and defaults, shell completion and man pages.

use base64::Engine;
use keyport_test_support::{Env, GitServer, Run};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};

const KEYPORT: &str = env!("CARGO_BIN_EXE_keyport");

/// The demo provider, declared a git host (its tokens are accepted as git passwords here).
fn git_env(ttl: u64) -> Env {
    let env = Env::new(ttl);
    declare_git(&env, None);
    env
}

/// Declares the demo provider a git host: at its sign-in's origin, or at `git_url`.
fn declare_git(env: &Env, git_url: Option<&str>) {
    let file = env.home.path().join("config/providers.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let git_url = git_url
        .map(|u| format!("git_url = \"{u}\"\n"))
        .unwrap_or_default();
    let text = text.replace(
        "[providers.demo]\n",
        &format!("[providers.demo]\ngit_username = \"oauth2\"\n{git_url}env_var = \"DEMO_TOKEN\"\n"),
    );
    std::fs::write(&file, text).unwrap();
}

/// `git <args>` in `dir`, with Keyport as the only credential helper and no prompts.
fn git(env: &Env, dir: &Path, args: &[&str]) -> Run {
    let helper = format!("credential.helper=!{KEYPORT} git-credential");
    env.program(Path::new("git"))
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .args(["-c", "credential.helper=", "-c", &helper])
        .args(["-c", "user.name=Ada", "-c", "user.email=ada@example.test"])
        .args(args)
        .output()
        .unwrap()
        .into()
}

/// `keyport git-credential <operation>` with `request` on stdin, run in `dir`.
fn credential(env: &Env, dir: &Path, args: &[&str], request: &str) -> Run {
    let mut child = env
        .command(&[&["git-credential"], args].concat())
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), request.as_bytes()).unwrap();
    drop(child.stdin.take());
    child.wait_with_output().unwrap().into()
}

#[test]
fn git_clones_and_pushes_with_keyport_and_a_token_refreshed_between_pushes() {
    let env = Env::new(8);
    let server = GitServer::start(&env.server.issuer);
    // The git server listens on its own port: declared, it is where the tokens go.
    declare_git(&env, Some(&server.url));
    let id = env.connect("alice");
    let url = server.create("project.git");
    let work = env.home.path().join("work");
    std::fs::create_dir(&work).unwrap();

    // Without a helper, the server refuses: it really checks the token.
    let refused: Run = env
        .program(Path::new("git"))
        .current_dir(&work)
        .env("GIT_TERMINAL_PROMPT", "0")
        .args(["-c", "credential.helper=", "clone", "--quiet", &url, "refused"])
        .output()
        .unwrap()
        .into();
    assert_ne!(refused.code, 0, "{refused:?}");

    git(&env, &work, &["clone", "--quiet", &url, "project"]).ok();
    let project = work.join("project");
    std::fs::write(project.join("README"), "one\n").unwrap();
    git(&env, &project, &["add", "README"]).ok();
    git(&env, &project, &["commit", "--quiet", "-m", "one"]).ok();
    git(&env, &project, &["push", "--quiet", "origin", "HEAD:main"]).ok();
    let first = env.stored_tokens(&id).0;

    // Past half the token's lifetime, the next get refreshes before answering.
    std::thread::sleep(std::time::Duration::from_secs(5));
    std::fs::write(project.join("README"), "two\n").unwrap();
    git(&env, &project, &["commit", "--quiet", "-am", "two"]).ok();
    git(&env, &project, &["push", "--quiet", "origin", "HEAD:main"]).ok();
    let second = env.stored_tokens(&id).0;
    assert_ne!(first, second, "refreshed between the pushes");

    let seen = server.seen();
    assert!(seen.iter().all(|(user, _)| user == "oauth2"), "{seen:?}");
    let tokens: Vec<&str> = seen.iter().map(|(_, t)| t.as_str()).collect();
    assert!(
        tokens.contains(&first.as_str()) && tokens.contains(&second.as_str()),
        "{tokens:?}"
    );
    let log = Command::new("git")
        .args([
            "--git-dir",
            server.repo_path("project.git").to_str().unwrap(),
            "log",
            "--format=%s",
            "main",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&log.stdout), "two\none\n");
    // git's helper writes nothing anywhere: no token in Keyport's files or git's config.
    for file in ["data/accounts.json", "data/audit.jsonl"] {
        let text = std::fs::read_to_string(env.home.path().join(file)).unwrap();
        assert!(!text.contains(&second), "{file}");
    }
}

#[test]
fn a_git_server_on_another_port_of_the_same_host_gets_no_token() {
    // The provider's tokens are for its own origin (127.0.0.1:<issuer port>); a server another
    // user runs on another port of the same host must not receive them from a real git.
    let env = git_env(3600);
    let id = env.connect("alice");
    let other = GitServer::start(&env.server.issuer);
    let url = other.create("theirs.git");
    let dir = env.home.path();
    let run = git(&env, dir, &["ls-remote", &url]);
    assert_ne!(run.code, 0, "{run:?}");
    let token = env.stored_tokens(&id).0;
    assert!(!run.stdout.contains(&token) && !run.stderr.contains(&token));
    assert_eq!(
        other.seen(),
        Vec::<(String, String)>::new(),
        "the other server saw a token"
    );
    // The same request at the provider's own origin is answered: the check is the port.
    let port = env.server.issuer.rsplit(':').next().unwrap().to_string();
    let here = credential(
        &env,
        dir,
        &["get"],
        &format!("protocol=http\nhost=127.0.0.1:{port}\n\n"),
    )
    .ok();
    assert!(here.stdout.contains(&token), "{}", here.stdout);
}

#[test]
fn git_credential_answers_only_for_an_account_that_fits_the_host() {
    let env = git_env(3600);
    let alice = env.connect("alice");
    let dir = env.home.path();
    let port = env.server.issuer.rsplit(':').next().unwrap().to_string();
    let here = format!("protocol=http\nhost=127.0.0.1:{port}\npath=x.git\n\n");

    let answer = credential(&env, dir, &["get"], &here).ok();
    let token = env.stored_tokens(&alice).0;
    assert!(
        answer.stdout.starts_with("username=oauth2\n"),
        "{}",
        answer.stdout
    );
    assert!(
        answer.stdout.contains(&format!("password={token}\n")),
        "{}",
        answer.stdout
    );
    assert!(
        answer.stdout.contains("password_expiry_utc="),
        "{}",
        answer.stdout
    );

    // Another host, plain http to a non-loopback host, or nothing fitting: no answer, exit 0.
    for request in [
        "protocol=https\nhost=github.com\n\n".to_string(),
        "protocol=http\nhost=example.com\n\n".to_string(),
    ] {
        let run = credential(&env, dir, &["get"], &request).ok();
        assert_eq!(run.stdout, "", "{request:?}");
    }
    // An account named for another host is not sent there either.
    let run = credential(
        &env,
        dir,
        &["--account", &alice, "get"],
        "protocol=https\nhost=github.com\n\n",
    )
    .ok();
    assert_eq!(run.stdout, "");

    // Two accounts for the host: none, until one is the default; a host rule beats both.
    let bob = env.connect("bob");
    assert_eq!(credential(&env, dir, &["get"], &here).ok().stdout, "");
    env.run(&["default", &bob]).ok();
    let bobs = env.stored_tokens(&bob).0;
    assert!(credential(&env, dir, &["get"], &here).ok().stdout.contains(&bobs));
    std::fs::write(
        env.home.path().join("config/config.toml"),
        format!("[[rules]]\nhost = \"127.0.0.1\"\naccount = \"{alice}\"\n"),
    )
    .unwrap();
    assert!(credential(&env, dir, &["get"], &here)
        .ok()
        .stdout
        .contains(&token));

    // store and erase change nothing.
    let accounts = env.accounts_file();
    for op in ["store", "erase"] {
        let run = credential(
            &env,
            dir,
            &[op],
            &format!("{here}username=oauth2\npassword={token}\n"),
        )
        .ok();
        assert_eq!(run.stdout, "");
    }
    assert_eq!(env.accounts_file(), accounts);
    assert!(env.server.is_active(&token));
}

#[test]
fn exec_passes_tokens_in_the_environment_with_the_exit_code_and_signal() {
    let env = git_env(3600);
    let id = env.connect("alice");
    let token = env.stored_tokens(&id).0;
    let out = env.home.path().join("seen");
    // The provider's variable, another name, a header line; never the command line.
    let script = format!(
        "printf '%s\\n%s\\n%s\\n' \"$DEMO_TOKEN\" \"$MINE\" \"$AUTH\" > {0}; tr '\\0' ' ' < /proc/$$/cmdline >> {0}; exit 3",
        out.display()
    );
    let run = env.run(&[
        "exec",
        &id,
        "--env",
        "MINE",
        "--header-env",
        "AUTH",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(run.code, 3, "the command's exit code: {run:?}");
    let seen = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = seen.lines().collect();
    assert_eq!(lines[0], "", "--env MINE takes the place of DEMO_TOKEN");
    assert_eq!(lines[1], token);
    assert_eq!(lines[2], format!("Authorization: Bearer {token}"));
    assert!(!lines[3].contains(&token), "the token is not on the command line");

    let default_name = env.run(&["exec", &id, "--", "sh", "-c", "test -n \"$DEMO_TOKEN\""]);
    assert_eq!(default_name.code, 0, "{default_name:?}");
    let killed = env
        .command(&["exec", &id, "--", "sh", "-c", "kill -TERM $$"])
        .status()
        .unwrap();
    assert_eq!(killed.signal(), Some(15), "the command's signal: {killed:?}");
    env.run(&["exec", &id, "--", "/nonexistent/program"])
        .fails(2, "could not run /nonexistent/program");
    env.run(&["exec", "nobody", "--", "true"])
        .fails(3, "no account matches");
}

#[test]
fn token_formats_serve_curl_and_mail_clients() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let token = env.stored_tokens(&id).0;
    // Not a terminal: the bare token, without a line break.
    assert_eq!(env.run(&["token", &id]).ok().stdout, token);
    let curl = format!(
        "curl -s -o /dev/null -w '%{{http_code}}' -H \"$({KEYPORT} token {id} --format header)\" {}/me",
        env.server.issuer
    );
    let status = env.program(Path::new("sh")).args(["-c", &curl]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&status.stdout), "200");

    let decode = |s: &str| {
        String::from_utf8(
            base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .unwrap(),
        )
        .unwrap()
    };
    let xoauth2 = env.run(&["token", &id, "--format", "xoauth2"]).ok().stdout;
    assert_eq!(
        decode(&xoauth2),
        format!("user=alice@example.test\u{1}auth=Bearer {token}\u{1}\u{1}")
    );
    let bearer = env
        .run(&[
            "token",
            &id,
            "--format",
            "oauthbearer",
            "--user",
            "ada@example.test",
        ])
        .ok()
        .stdout;
    assert_eq!(
        decode(&bearer),
        format!("n,a=ada@example.test,\u{1}auth=Bearer {token}\u{1}\u{1}")
    );
    // The same through the agent.
    let _agent = env.agent();
    assert_eq!(
        env.run(&["token", &id, "--format", "xoauth2"]).ok().stdout,
        xoauth2
    );
}

#[test]
fn rules_and_defaults_pick_the_account() {
    let env = Env::new(3600);
    let alice = env.connect("alice");
    let bob = env.connect("bob");
    let (alice_token, bob_token) = (env.stored_tokens(&alice).0, env.stored_tokens(&bob).0);
    let work = env.home.path().join("work");
    let other = env.home.path().join("other");
    std::fs::create_dir_all(work.join("deep")).unwrap();
    std::fs::create_dir_all(&other).unwrap();
    let token_in = |dir: &Path, args: &[&str], account_var: Option<&str>| -> Run {
        let mut cmd = env.command(&[&["token"], args].concat());
        cmd.current_dir(dir);
        if let Some(v) = account_var {
            cmd.env("KEYPORT_ACCOUNT", v);
        }
        cmd.output().unwrap().into()
    };
    token_in(&other, &["demo"], None).fails(3, "matches several accounts");
    // With what to do next, as every error has.
    let unnamed = token_in(&other, &[], None).fails(3, "no account was named");
    assert!(
        unnamed.stderr.contains("KEYPORT_ACCOUNT") && unnamed.stderr.contains("keyport list"),
        "{}",
        unnamed.stderr
    );

    std::fs::write(
        env.home.path().join("config/config.toml"),
        format!(
            "[[rules]]\ndirectory = \"{}\"\naccount = \"demo:bob@example.test\"\n",
            work.display()
        ),
    )
    .unwrap();
    assert_eq!(
        token_in(&work.join("deep"), &["demo"], None).ok().stdout,
        bob_token
    );
    assert_eq!(token_in(&work, &[], None).ok().stdout, bob_token);
    assert_eq!(
        token_in(&work, &[&alice], None).ok().stdout,
        alice_token,
        "a named account wins"
    );
    assert_eq!(token_in(&other, &[], Some(&alice)).ok().stdout, alice_token);

    env.run(&["default", &alice]).ok();
    assert_eq!(token_in(&other, &["demo"], None).ok().stdout, alice_token);
    let listed = env.list();
    let defaults: Vec<bool> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["is_default"].as_bool().unwrap())
        .collect();
    assert_eq!(defaults, [true, false]);

    std::fs::write(
        env.home.path().join("config/config.toml"),
        "[[rules]]\ndirectory = \"work\"\naccount = \"x\"\n",
    )
    .unwrap();
    token_in(&work, &[], None).fails(2, "must be absolute");
}

#[test]
fn completions_offer_accounts_and_man_pages_are_generated() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let bin_dir = Path::new(KEYPORT).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let script = "source <(keyport completions bash)\n\
                  COMP_WORDS=(keyport token ''); COMP_CWORD=2; COMP_TYPE=9\n\
                  _clap_complete_keyport keyport '' token\n\
                  printf '%s\\n' \"${COMPREPLY[@]}\"";
    let out = env
        .program(Path::new("bash"))
        .env("PATH", &path)
        .args(["-c", script])
        .output()
        .unwrap();
    let candidates = String::from_utf8_lossy(&out.stdout);
    for expected in [id.as_str(), "demo:alice@example.test", "demo"] {
        assert!(
            candidates.lines().any(|l| l == expected),
            "{expected} in {candidates:?} {out:?}"
        );
    }
    for shell in ["zsh", "fish"] {
        let script = env.run(&["completions", shell]).ok().stdout;
        assert!(script.contains("keyport"), "{shell}: {script}");
    }
    let man = env.home.path().join("man");
    env.run(&["man", "--dir", man.to_str().unwrap()]).ok();
    let page = std::fs::read_to_string(man.join("keyport.1")).unwrap();
    assert!(
        page.contains(".TH keyport 1") && page.contains("git\\-credential"),
        "{page}"
    );
    let sub = std::fs::read_to_string(man.join("keyport-exec.1")).unwrap();
    assert!(sub.contains("header\\-env"), "{sub}");
}

/// The fenced blocks of `language` in the section of docs/integrations.md that `heading` (a
/// whole line, `## Node`) starts, up to the next heading of its level or above.
pub(crate) fn doc_blocks(heading: &str, language: &str) -> Vec<String> {
    let doc =
        std::fs::read_to_string(keyport_test_support::repo_root().join("docs/integrations.md")).unwrap();
    let start = doc
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no {heading:?} in docs/integrations.md"))
        + heading.len()
        + 2;
    let level = heading.split(' ').next().unwrap();
    let section = &doc[start..];
    let end = (1..=level.len())
        .filter_map(|n| section.find(&format!("\n{} ", "#".repeat(n))))
        .min()
        .unwrap_or(section.len());
    let fence = format!("```{language}\n");
    section[..end]
        .split(&fence)
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap().to_string())
        .collect()
}

#[test]
fn the_python_and_node_snippets_of_the_docs_print_the_token() {
    let env = Env::new(3600);
    let id = env.connect("alice");
    let token = env.stored_tokens(&id).0;
    let bin_dir = Path::new(KEYPORT).parent().unwrap();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    for (heading, language, program, flag) in [
        ("### Without the package", "python", "python3", "-c"),
        ("## Node", "js", "node", "-e"),
    ] {
        let blocks = doc_blocks(heading, language);
        assert_eq!(blocks.len(), 1, "one {language} snippet");
        let code = blocks[0]
            .replace("'github'", &format!("'{id}'"))
            .replace("\"github\"", &format!("\"{id}\""));
        let out = env
            .program(Path::new(program))
            .env("PATH", &path)
            .args([flag, &code])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            token,
            "{language}: {out:?}"
        );
    }
}

#[test]
fn the_git_setup_the_help_shows_works_when_pasted() {
    let env = git_env(3600);
    let id = env.connect("alice");
    let help = env.run(&["git-credential", "--help"]).ok().stdout;
    let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
    let shown = &flat[flat
        .find("git config --global ")
        .expect("the help shows the git setup")..];
    let key = shown.split_whitespace().nth(3).unwrap();
    let value = shown.split('\'').nth(1).unwrap();
    assert_eq!(
        (key, value),
        ("credential.helper", "!keyport git-credential"),
        "{shown}"
    );
    // Pasted as shown (for every host: Keyport answers for the hosts its accounts serve), with
    // keyport on PATH as installed.
    let port = env.server.issuer.rsplit(':').next().unwrap().to_string();
    let bin_dir = keyport_test_support::keyport_bin()
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!("{}:{}", bin_dir.display(), std::env::var("PATH").unwrap());
    let global = env.home.path().join("gitconfig");
    let git = |args: &[&str], input: &str| -> Run {
        let mut child = env
            .program(Path::new("git"))
            .args(args)
            .env("PATH", &path)
            .env("GIT_CONFIG_GLOBAL", &global)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), input.as_bytes()).unwrap();
        drop(child.stdin.take());
        child.wait_with_output().unwrap().into()
    };
    git(&["config", "--global", key, value], "").ok();
    let filled = git(
        &["credential", "fill"],
        &format!("protocol=http\nhost=127.0.0.1:{port}\n\n"),
    )
    .ok();
    let token = env.stored_tokens(&id).0;
    assert!(
        filled.stdout.contains(&format!("password={token}\n")),
        "{}",
        filled.stdout
    );
}
