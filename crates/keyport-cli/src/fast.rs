//! The hot path: `keyport token …` answered by a running agent, in the small `keyport`
//! executable. Programs call `keyport token` far more than anything else, and loading the full
//! command (clap's whole command tree, a log filter, a runtime) costs more than asking the agent.
//! Only the plain forms are taken here (an account, `--min-ttl`, `--json`, `--format`, `--use`,
//! `--user`);
//! anything else (help, `--`, an unknown flag, logging asked for, no agent) goes to
//! `keyport-full`, which parses everything and gives the same answers.

use crate::args::{Format, Use};
use crate::exit::Exit;
use std::ffi::OsString;

/// A `token` request in one of the plain forms.
#[derive(Debug, PartialEq)]
struct Request<'a> {
    account: Option<&'a str>,
    min_ttl: u64,
    format: Format,
    token_use: Option<Use>,
    user: Option<&'a str>,
}

pub fn try_token_from_agent(args: &[OsString]) -> Option<Exit> {
    if ["KEYPORT_LOG", "RUST_LOG", "COMPLETE"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
    {
        return None;
    }
    // Without either, finding the default home asks the system's user database (NSS), which a
    // statically linked `keyport` must not load (docs/BENCHMARKS.md): the full command does it.
    std::env::var_os("KEYPORT_HOME").or_else(|| std::env::var_os("HOME"))?;
    let r = parse(args)?;
    // A malformed KUBERNETES_EXEC_INFO is the full command's to report.
    let format = r.format.resolve(r.token_use).ok()?;
    crate::token_answer::through_agent(r.account, r.min_ttl, format, r.user)
}

fn parse(args: &[OsString]) -> Option<Request<'_>> {
    let mut args = args.iter().skip(1).map(|a| a.to_str());
    if args.next()?? != "token" {
        return None;
    }
    let mut r = Request {
        account: None,
        min_ttl: keyport_core::DEFAULT_MIN_TTL_SECS,
        format: Format::Raw,
        token_use: None,
        user: None,
    };
    let mut json = false;
    while let Some(arg) = args.next() {
        let arg = arg?;
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value)),
            _ => (arg, None),
        };
        let mut value = || inline.map(Some).unwrap_or_else(|| args.next().flatten());
        match flag {
            "--min-ttl" => r.min_ttl = value()?.parse().ok()?,
            "--format" => r.format = clap::ValueEnum::from_str(value()?, false).ok()?,
            "--user" => r.user = Some(value()?),
            "--use" => r.token_use = Some(clap::ValueEnum::from_str(value()?, false).ok()?),
            "--json" if inline.is_none() => json = true,
            _ if !arg.starts_with('-') && r.account.is_none() => r.account = Some(arg),
            _ => return None,
        }
    }
    if json {
        if r.format != Format::Raw {
            return None; // clap reports the conflict
        }
        r.format = Format::Json;
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Option<(Option<String>, u64, Format, Option<String>)> {
        let args: Vec<OsString> = std::iter::once("keyport")
            .chain(args.iter().copied())
            .map(Into::into)
            .collect();
        parse(&args).map(|r| {
            (
                r.account.map(Into::into),
                r.min_ttl,
                r.format,
                r.user.map(Into::into),
            )
        })
    }

    #[test]
    fn only_plain_token_requests_take_the_fast_path() {
        let gh = Some("github".to_string());
        assert_eq!(
            parsed(&["token", "github"]),
            Some((gh.clone(), 300, Format::Raw, None))
        );
        assert_eq!(parsed(&["token"]), Some((None, 300, Format::Raw, None)));
        assert_eq!(
            parsed(&["token", "github", "--min-ttl", "60", "--format=header"]),
            Some((gh.clone(), 60, Format::Header, None))
        );
        assert_eq!(
            parsed(&["token", "--json", "github", "--user", "a@b"]),
            Some((gh, 300, Format::Json, Some("a@b".into())))
        );
        assert_eq!(
            parse(&["keyport", "token", "sso", "--format", "kubectl", "--use", "access"].map(OsString::from))
                .map(|r| (r.format, r.token_use)),
            Some((Format::Kubectl, Some(Use::Access)))
        );
        for no in [
            &["list"][..],
            &["token", "--help"],
            &["token", "a", "b"],
            &["token", "--", "a"],
            &["token", "--format", "xml"],
            &["token", "--min-ttl"],
            &["token", "--json=1"],
            &["token", "--use", "refresh"],
            &["token", "--json", "--format", "header"],
        ] {
            assert_eq!(parsed(no), None, "{no:?}");
        }
    }
}
