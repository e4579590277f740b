//! The user's `config.toml` (beside `providers.toml`): account rules. A rule names the account
//! that commands run in a directory, or git talking to a host, should use when they do not name
//! one, or name only its provider:
//!
//! ```toml
//! [[rules]]
//! directory = "~/work"          # this directory and everything below it
//! account = "github:me-at-work"
//!
//! [[rules]]
//! host = "gitlab.example.com"   # git credentials for this host
//! account = "gitlab-2"
//! ```
//!
//! Rules are data, checked like the catalog: unknown fields, a rule with both or neither of
//! `directory` and `host`, a relative directory or an empty account are clear errors.
//!
//! And how Keyport introduces itself to remote MCP servers that take Client ID Metadata
//! Documents, when `--client-metadata-url` does not say it for one sign-in:
//!
//! ```toml
//! [mcp]
//! client_metadata_url = "https://example.com/keyport-client.json"
//! ```

use crate::error::{Error, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rules: Vec<RuleSpec>,
    #[serde(default)]
    mcp: McpSettings,
}

/// The `[mcp]` table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpSettings {
    /// The URL of the Client ID Metadata Document that describes Keyport: its client id at
    /// every MCP server that says it takes those (https; the document is served by the user).
    pub client_metadata_url: Option<url::Url>,
}

impl McpSettings {
    /// The settings in `path`; the defaults when there is no such file.
    pub fn load(path: &Path) -> Result<McpSettings> {
        let Some(text) = read(path)? else {
            return Ok(McpSettings::default());
        };
        let config_error = |message: String| Error::Config {
            path: path.to_path_buf(),
            message,
        };
        let file: File = toml::from_str(&text).map_err(|e| config_error(e.message().to_string()))?;
        if let Some(url) = &file.mcp.client_metadata_url {
            // A metadata document's URL is the client id itself: https (http on loopback only,
            // as for every endpoint) with a path.
            crate::model::check_endpoint(url)
                .map_err(|m| config_error(format!("[mcp] client_metadata_url: {m}")))?;
            if url.path() == "/" {
                return Err(config_error(format!(
                    "[mcp] client_metadata_url must name a document, not a site (got \"{url}\")"
                )));
            }
        }
        Ok(file.mcp)
    }
}

/// The text of `path`, or `None` when there is no such file.
fn read(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read", path, e)),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    directory: Option<String>,
    host: Option<String>,
    account: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Directory(PathBuf),
    Host(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub scope: Scope,
    /// An account reference, resolved when the rule is used.
    pub account: String,
}

#[derive(Debug, Clone, Default)]
pub struct Rules(Vec<Rule>);

impl Rules {
    /// The rules in `path`; none when there is no such file.
    pub fn load(path: &Path) -> Result<Rules> {
        let Some(text) = read(path)? else {
            return Ok(Rules::default());
        };
        Self::parse(&text, home_dir().as_deref()).map_err(|message| Error::Config {
            path: path.to_path_buf(),
            message,
        })
    }

    fn parse(text: &str, home: Option<&Path>) -> std::result::Result<Rules, String> {
        let file: File = toml::from_str(text).map_err(|e| e.message().to_string())?;
        let mut rules = Vec::new();
        for (i, spec) in file.rules.into_iter().enumerate() {
            let n = i + 1;
            if spec.account.trim().is_empty() {
                return Err(format!("rule {n} has an empty `account`"));
            }
            let scope = match (spec.directory, spec.host) {
                (Some(dir), None) => {
                    let path = match (dir.strip_prefix("~/").or(dir.strip_prefix("~")), home) {
                        (Some(rest), Some(home)) => home.join(rest),
                        (Some(_), None) => {
                            return Err(format!("rule {n}: no home directory to expand `~` in"))
                        }
                        (None, _) => PathBuf::from(&dir),
                    };
                    if !path.is_absolute() {
                        return Err(format!(
                            "rule {n}: `directory` must be absolute or start with ~ (got \"{dir}\")"
                        ));
                    }
                    Scope::Directory(path)
                }
                (None, Some(host)) => {
                    let host = host.trim().to_ascii_lowercase();
                    if host.is_empty() || host.contains(['/', ' ', '@']) {
                        return Err(format!(
                            "rule {n}: `host` must be a host name, like gitlab.example.com"
                        ));
                    }
                    Scope::Host(host)
                }
                _ => return Err(format!("rule {n} needs exactly one of `directory` and `host`")),
            };
            rules.push(Rule {
                scope,
                account: spec.account.trim().to_string(),
            });
        }
        Ok(Rules(rules))
    }

    /// The account of the most specific directory rule that `cwd` is in.
    pub fn for_directory(&self, cwd: &Path) -> Option<&str> {
        // Most homes have no directory rule, and `keyport token` runs this on every call.
        if !self.0.iter().any(|r| matches!(r.scope, Scope::Directory(_))) {
            return None;
        }
        let cwd = cwd.canonicalize().unwrap_or_else(|_| cwd.to_path_buf());
        self.0
            .iter()
            .filter_map(|r| match &r.scope {
                Scope::Directory(dir) => {
                    let dir = dir.canonicalize().unwrap_or_else(|_| dir.clone());
                    cwd.starts_with(&dir)
                        .then_some((dir.components().count(), r.account.as_str()))
                }
                Scope::Host(_) => None,
            })
            .max_by_key(|(depth, _)| *depth)
            .map(|(_, account)| account)
    }

    /// The account of the rule for git host `host`.
    pub fn for_host(&self, host: &str) -> Option<&str> {
        let host = host.to_ascii_lowercase();
        self.0.iter().find_map(|r| match &r.scope {
            Scope::Host(h) if *h == host => Some(r.account.as_str()),
            _ => None,
        })
    }
}

fn home_dir() -> Option<PathBuf> {
    directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_checked_and_the_most_specific_directory_wins() {
        let home = Path::new("/home/ada");
        let rules = Rules::parse(
            "[[rules]]\ndirectory = \"~/work\"\naccount = \"github:work\"\n\
             [[rules]]\ndirectory = \"/home/ada/work/oss\"\naccount = \"github-1\"\n\
             [[rules]]\nhost = \"GitLab.Example.com\"\naccount = \"gitlab-2\"\n",
            Some(home),
        )
        .unwrap();
        assert_eq!(
            rules.for_directory(Path::new("/home/ada/work/x")),
            Some("github:work")
        );
        assert_eq!(
            rules.for_directory(Path::new("/home/ada/work/oss/y")),
            Some("github-1")
        );
        assert_eq!(rules.for_directory(Path::new("/home/ada/workshop")), None);
        assert_eq!(rules.for_host("gitlab.example.com"), Some("gitlab-2"));
        for (text, expected) in [
            ("[[rules]]\naccount = \"x\"\n", "exactly one of"),
            (
                "[[rules]]\ndirectory = \"a\"\nhost = \"b\"\naccount = \"x\"\n",
                "exactly one of",
            ),
            (
                "[[rules]]\ndirectory = \"work\"\naccount = \"x\"\n",
                "must be absolute",
            ),
            ("[[rules]]\nhost = \"a/b\"\naccount = \"x\"\n", "host name"),
            ("[[rules]]\nhost = \"a\"\naccount = \" \"\n", "empty `account`"),
            ("[[rules]]\nhost = \"a\"\naccont = \"x\"\n", "unknown field"),
            ("[rule]\n", "unknown field"),
            (
                "[mcp]\nclient_metadata = \"https://a.example/c\"\n",
                "unknown field",
            ),
        ] {
            let e = Rules::parse(text, Some(home)).unwrap_err();
            assert!(e.contains(expected), "{text:?} gave {e}");
        }
    }

    #[test]
    fn the_mcp_table_names_an_https_metadata_document_and_leaves_the_rules_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(McpSettings::load(&path).unwrap(), McpSettings::default());
        std::fs::write(
            &path,
            "[mcp]\nclient_metadata_url = \"https://example.com/keyport.json\"\n\
             [[rules]]\nhost = \"a\"\naccount = \"x\"\n",
        )
        .unwrap();
        let settings = McpSettings::load(&path).unwrap();
        assert_eq!(
            settings.client_metadata_url.unwrap().as_str(),
            "https://example.com/keyport.json"
        );
        assert_eq!(Rules::load(&path).unwrap().for_host("a"), Some("x"));
        for bad in ["http://example.com/k.json", "https://example.com/", "not a url"] {
            // http is refused except on loopback, as for every endpoint.
            std::fs::write(&path, format!("[mcp]\nclient_metadata_url = \"{bad}\"\n")).unwrap();
            let e = McpSettings::load(&path).unwrap_err().to_string();
            assert!(
                e.contains("client_metadata_url") || e.contains("relative URL"),
                "{bad}: {e}"
            );
        }
    }
}
