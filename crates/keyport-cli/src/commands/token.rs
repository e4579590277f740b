//! `keyport token` in `keyport-full`: the keychain's path (and a refresh when needed), once the
//! running agent, asked by `keyport` or by the core, did not answer with a token. Which account,
//! asking the agent and the output are `crate::token_answer`'s, shared with `keyport`'s fast path.

use crate::token_answer::{print_issued, reference, AGENT_ANSWERED};
use keyport_core::{Keyport, Result, TokenFormat, TokenUse};

/// `token` through the keychain (and a refresh when needed).
pub async fn keychain_path(
    keyport: &Keyport,
    account: Option<&str>,
    min_ttl: u64,
    (format, token_use): (TokenFormat, TokenUse),
    user: Option<&str>,
) -> Result<()> {
    let reference = reference(keyport.home(), account)?;
    let issued = keyport.token_for(&reference, min_ttl, token_use).await?;
    print_issued(format, &issued, user);
    Ok(())
}

/// How `keyport-full` hands out tokens: through the running agent, unless `keyport` says it
/// already answered. The variable is removed, so that programs `exec` starts do not inherit it.
pub fn route_from_env() -> keyport_core::TokenRoute {
    let answered = std::env::var(AGENT_ANSWERED).ok();
    std::env::remove_var(AGENT_ANSWERED);
    answered
        .and_then(|k| serde_json::from_value(serde_json::Value::String(k)).ok())
        .map_or(
            keyport_core::TokenRoute::ThroughAgent,
            keyport_core::TokenRoute::AgentAnswered,
        )
}
