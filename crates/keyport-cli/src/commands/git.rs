//! `keyport git-credential`: git's credential helper protocol on stdin and stdout. When no
//! account fits, Keyport says nothing and exits 0, git's way of passing to the next helper; why
//! is logged only with `KEYPORT_LOG` set (git shows a helper's stderr to the person).

use crate::args::GitOperation;
use keyport_core::{GitRequest, Keyport, Result, DEFAULT_MIN_TTL_SECS};
use std::io::{Read, Write};

pub async fn run(keyport: &Keyport, account: Option<&str>, operation: GitOperation) -> Result<()> {
    let mut input = String::new();
    // git writes the request and closes; a broken pipe is git's problem, not a token's.
    let _ = std::io::stdin().take(64 * 1024).read_to_string(&mut input);
    match operation {
        // Keyport keeps its own accounts: git has nothing to store, and a token git calls bad is
        // not a reason to forget an account (the next `get` hands out one valid again).
        GitOperation::Store | GitOperation::Erase => {
            tracing::info!(?operation, "nothing to do: Keyport keeps its accounts");
            Ok(())
        }
        GitOperation::Get => {
            let request = GitRequest::parse(&input);
            let from_env = std::env::var("KEYPORT_ACCOUNT").ok().filter(|v| !v.is_empty());
            let cwd = std::env::current_dir().ok();
            let answer = keyport
                .git_credential(
                    &request,
                    account.or(from_env.as_deref()),
                    cwd.as_deref(),
                    DEFAULT_MIN_TTL_SECS,
                )
                .await?;
            if let Some(answer) = answer {
                let _ = std::io::stdout().lock().write_all(answer.to_git().as_bytes());
            }
            Ok(())
        }
    }
}
