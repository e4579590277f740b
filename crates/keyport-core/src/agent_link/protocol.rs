//! The agent's protocol (version 1, written down with an example of every message in
//! docs/protocol.md, whose examples a test below parses): one JSON line each way. Request
//! `{"account": "...", "min_ttl": 300}`; answer
//! `{"answer": "token", "token": "...", "account": "...", "expires_at": 123, "metadata": {}}`
//! or `{"answer": "error", "kind": "needs_reconnect", "message": "..."}`. A client whose server
//! refused the token it was given names it (`"rejected": "..."`) and gets another. A request for
//! the ID token adds `"use": "id"`, and its answer says `"use": "id"` back (an agent that does not
//! know the field would hand out the access token: the client refuses an answer without it).
//!
//! Changes within version 1 only add what an older reader may ignore (an optional field, a
//! message, an error kind); anything else will be version 2, said by a `version` field.
//!
//! A `keyport connect --device` also tells a running app its code, so that the window can show it
//! when the terminal's stderr is hidden: `{"device_code": {...}}`, answered `{"answer": "shown"}`
//! (or an error where no window listens).
//!
//! A `keyport` on a machine reached over SSH asks through a forwarded socket, with no account file
//! of its own: its token requests carry a `claim` (who asks there: unverifiable, shown as such),
//! and it may also ask which accounts it can use (`{"list": {claim}}`, answered
//! `{"answer": "accounts", "accounts": [...]}`) and for git's credential
//! (`{"git": {"protocol", "host", "account", "min_ttl", "claim"}}`, answered like a token).
//!
//! Whether a request came from another machine is known by the socket it arrived on, never by
//! what it says or which program sent it: `keyport ssh` asks the agent for a forwarding socket of
//! its own (`{"forward": {"destination": "devbox"}}`, answered
//! `{"answer": "forwarding", "socket": "..."}`), whose destination is fixed when it is made, and
//! forwards that one. It lasts while the connection that asked for it stays open; a `standing`
//! one (for a `RemoteForward` in `~/.ssh/config`) lasts while the agent runs. A claim arriving on
//! the agent's own socket is refused.
//!
//! A process that stays and hands tokens on for long (`keyport mcp`) keeps one connection:
//! `{"hold": {}}`, answered `{"answer": "held"}`, after which the connection carries one token
//! request line after another until it closes. The caller is the one pinned when the agent
//! accepted the connection: the process can then make itself non-dumpable, which hides its
//! `/proc/<pid>/exe` from the agent, and still be known as what it was (see `agent::caller`).

use crate::error::{describe, Error, ErrorKind};
use crate::model::{AccountSummary, Issued, TokenUse};
use crate::secret::Secret;
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    pub account: String,
    pub min_ttl: u64,
    /// Which token: the access token unless the ID token is asked for (`"use": "id"`).
    #[serde(default, rename = "use", skip_serializing_if = "TokenUse::is_access")]
    pub token_use: TokenUse,
    /// Said by a client on another machine (over SSH) about who asks there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
    /// The token a server just refused (HTTP 401): the answer is another one, refreshed if the
    /// agent still holds this one. Added within protocol version 1: an older agent ignores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Secret>,
}

/// What a client across SSH says about the program that asks there. Nothing checks it: the agent
/// shows it as that machine's word, next to what it knows itself (the SSH destination).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    /// The program that ran `keyport` there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// That machine's host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// git's question, asked from another machine: the desktop picks the account for the host.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GitAsk {
    pub protocol: String,
    pub host: String,
    /// An account the remote named (`--account`, `KEYPORT_ACCOUNT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub min_ttl: u64,
    #[serde(default)]
    pub claim: Claim,
}

/// A device sign-in's code, for the app's window: all of it came from the provider, so the window
/// shows it as text only.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeviceCode {
    pub provider: String,
    pub provider_name: String,
    pub user_code: String,
    pub verification_uri: String,
    /// Seconds the code stays valid.
    pub expires_in: u64,
    /// The program that started the sign-in (filled in by the agent, from the kernel's word).
    #[serde(default)]
    pub program: Option<String>,
}

/// A sign-in asked for from another machine: the desktop runs it (its browser, or its window
/// showing a device code), once the person there agreed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConnectAsk {
    pub provider: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nickname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub variables: std::collections::BTreeMap<String, String>,
    /// Sign in with a code shown in the desktop's window instead of its browser.
    #[serde(default)]
    pub device: bool,
    /// Seconds the sign-in may take.
    pub timeout: u64,
    #[serde(default)]
    pub claim: Claim,
}

/// A forwarding socket asked for by a program of this desktop (`keyport ssh`, `keyport
/// ssh-config`): what arrives on it is another machine's request, from `destination`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ForwardAsk {
    pub destination: String,
    /// Kept while the agent runs, at a path named after the destination (for `~/.ssh/config`),
    /// rather than while the asking connection stays open.
    #[serde(default)]
    pub standing: bool,
}

/// A connection to be kept for several token requests: nothing to say but that.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HoldAsk {}

/// Any line a client sends.
#[derive(Debug)]
pub(crate) enum Incoming {
    Token(Request),
    DeviceCode(DeviceCode),
    List(Claim),
    Git(GitAsk),
    Connect(ConnectAsk),
    Forward(ForwardAsk),
    Hold(HoldAsk),
}

impl Incoming {
    /// Whether the line says who asks on another machine: only a forwarded connection may.
    pub(crate) fn claims(&self) -> bool {
        match self {
            Incoming::Token(request) => request.claim.is_some(),
            Incoming::Git(ask) => ask.claim != Claim::default(),
            Incoming::Connect(ask) => ask.claim != Claim::default(),
            Incoming::List(claim) => *claim != Claim::default(),
            Incoming::DeviceCode(_) | Incoming::Forward(_) | Incoming::Hold(_) => false,
        }
    }
}

/// The lines other than token requests, each an object with one key.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Other {
    DeviceCode(DeviceCode),
    List(Claim),
    Git(GitAsk),
    Connect(ConnectAsk),
    Forward(ForwardAsk),
    Hold(HoldAsk),
}

impl Incoming {
    /// A token request is tried first and read directly: `#[serde(untagged)]` would buffer every
    /// line of the hot path into an intermediate tree before trying each form.
    pub(crate) fn parse(line: &str) -> Option<Incoming> {
        if let Ok(request) = serde_json::from_str::<Request>(line) {
            return Some(Incoming::Token(request));
        }
        Some(match serde_json::from_str::<Other>(line).ok()? {
            Other::DeviceCode(code) => Incoming::DeviceCode(code),
            Other::List(claim) => Incoming::List(claim),
            Other::Git(ask) => Incoming::Git(ask),
            Other::Connect(ask) => Incoming::Connect(ask),
            Other::Forward(ask) => Incoming::Forward(ask),
            Other::Hold(ask) => Incoming::Hold(ask),
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "answer", rename_all = "snake_case")]
pub enum Answer {
    /// A device code was put in front of the user.
    Shown,
    Token(Issued),
    /// The accounts a client across SSH may use, as `keyport list --json` shows them.
    Accounts {
        accounts: Vec<AccountSummary<'static>>,
    },
    /// A sign-in asked for from across SSH is done: the new account, as `list --json` shows it.
    Connected {
        account: Box<AccountSummary<'static>>,
    },
    /// A forwarding socket for `keyport ssh` to hand to `ssh -R`.
    Forwarding {
        socket: std::path::PathBuf,
    },
    /// The connection is held: token requests may follow, one line each.
    Held,
    Error {
        kind: ErrorKind,
        message: String,
    },
}

impl From<&Error> for Answer {
    fn from(e: &Error) -> Self {
        Answer::Error {
            kind: e.kind(),
            message: describe(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_token_requests_or_device_codes() {
        let token = Incoming::parse(r#"{"account":"github","min_ttl":300}"#);
        assert!(
            matches!(token, Some(Incoming::Token(Request { ref account, min_ttl: 300, claim: None, token_use: TokenUse::Access, rejected: None })) if account == "github")
        );
        let refused = Incoming::parse(r#"{"account":"github","min_ttl":300,"rejected":"AT-OLD"}"#);
        assert!(
            matches!(refused, Some(Incoming::Token(Request { rejected: Some(ref t), .. })) if t.expose() == "AT-OLD")
        );
        let code = Incoming::parse(
            r#"{"device_code":{"provider":"p","provider_name":"P","user_code":"AB-CD","verification_uri":"https://x/device","expires_in":600}}"#,
        );
        assert!(
            matches!(code, Some(Incoming::DeviceCode(DeviceCode { ref user_code, .. })) if user_code == "AB-CD")
        );
        assert!(Incoming::parse(r#"{"account":"github"}"#).is_none());
        let forwarded = Incoming::parse(
            r#"{"account":"github","min_ttl":60,"claim":{"program":"python3","host":"devbox"}}"#,
        );
        assert!(
            matches!(forwarded, Some(Incoming::Token(Request { claim: Some(Claim { ref program, .. }), .. })) if program.as_deref() == Some("python3"))
        );
        assert!(matches!(
            Incoming::parse(r#"{"list":{}}"#),
            Some(Incoming::List(_))
        ));
        let git = Incoming::parse(r#"{"git":{"protocol":"https","host":"github.com","min_ttl":300}}"#);
        assert!(matches!(git, Some(Incoming::Git(GitAsk { ref host, .. })) if host == "github.com"));
        assert!(Incoming::parse("not json").is_none());
        let forward = Incoming::parse(r#"{"forward":{"destination":"devbox"}}"#);
        assert!(
            matches!(forward, Some(Incoming::Forward(ForwardAsk { ref destination, standing: false })) if destination == "devbox")
        );
        assert!(forwarded.as_ref().is_some_and(Incoming::claims));
        assert!(matches!(
            Incoming::parse(r#"{"hold":{}}"#),
            Some(Incoming::Hold(_))
        ));
        assert!(!token.as_ref().is_some_and(Incoming::claims));
    }

    /// Every example of docs/protocol.md is a message of these types, and every message and
    /// answer has an example there; every error kind in its table is one of `ErrorKind`'s.
    #[test]
    fn the_documented_examples_are_these_messages() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/protocol.md"))
            .expect("docs/protocol.md");
        let lines = |info: &str| -> Vec<String> {
            doc.split(&format!("```json {info}\n"))
                .skip(1)
                .flat_map(|block| block.split("```").next().unwrap_or_default().lines())
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect()
        };
        let mut shown = std::collections::BTreeSet::new();
        for line in lines("request") {
            let incoming = Incoming::parse(&line).unwrap_or_else(|| panic!("not a request: {line}"));
            shown.insert(match incoming {
                Incoming::Token(Request {
                    rejected: Some(_), ..
                }) => "rejected",
                Incoming::Token(Request { claim: Some(_), .. }) => "claimed",
                Incoming::Token(_) => "token request",
                Incoming::DeviceCode(_) => "device_code",
                Incoming::List(_) => "list",
                Incoming::Git(_) => "git",
                Incoming::Connect(_) => "connect",
                Incoming::Forward(_) => "forward",
                Incoming::Hold(_) => "hold",
            });
        }
        for line in lines("answer") {
            let answer: Answer =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not an answer ({e}): {line}"));
            shown.insert(match answer {
                Answer::Shown => "shown",
                Answer::Token(_) => "token",
                Answer::Accounts { .. } => "accounts",
                Answer::Connected { .. } => "connected",
                Answer::Forwarding { .. } => "forwarding",
                Answer::Held => "held",
                Answer::Error { .. } => "error",
            });
        }
        let every = [
            "rejected",
            "claimed",
            "token request",
            "device_code",
            "list",
            "git",
            "connect",
            "forward",
            "hold",
            "shown",
            "token",
            "accounts",
            "connected",
            "forwarding",
            "held",
            "error",
        ];
        assert_eq!(shown, every.into_iter().collect());
        let table = &doc[doc.find("## Error kinds").expect("the error kinds")..];
        let kinds: Vec<&str> = table
            .lines()
            .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
            .collect();
        assert_eq!(kinds.len(), 11, "{kinds:?}");
        for kind in kinds {
            serde_json::from_str::<ErrorKind>(&format!("\"{kind}\""))
                .unwrap_or_else(|e| panic!("{kind}: {e}"));
        }
    }

    #[test]
    fn answers_never_debug_print_the_token() {
        let a = Answer::Token(Issued {
            token: crate::secret::Secret::new("AT-SECRET"),
            token_use: TokenUse::Access,
            account: "x-1".into(),
            nickname: "ada".into(),
            expires_at: None,
            metadata: Default::default(),
            env_var: None,
            git_username: Some("x-access-token".into()),
        });
        assert!(!format!("{a:?}").contains("AT-SECRET"));
        let line = serde_json::to_string(&a).unwrap();
        assert!(
            line.contains("AT-SECRET") && line.contains("\"answer\":\"token\""),
            "{line}"
        );
        let e = Answer::from(&Error::NoSuchAccount("x".into()));
        let back: Answer = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert!(
            matches!(
                back,
                Answer::Error {
                    kind: ErrorKind::NotFound,
                    ..
                }
            ),
            "{back:?}"
        );
    }
}
