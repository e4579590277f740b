//! The catalog in words: what a provider asks for, and the README's support matrix, generated from
//! the built-in presets so that it cannot drift from them.

use crate::catalog::{Catalog, Variable};
use crate::model::{RevocationStyle, TokenAuthMethod};
use std::collections::BTreeMap;

/// What a provider asks for when connecting, e.g. "host (default gitlab.com), shop"; with
/// `code`, names and defaults are Markdown code.
pub fn variables_text(vars: &BTreeMap<String, Variable>, code: bool) -> String {
    let q = if code { "`" } else { "" };
    vars.iter()
        .map(|(k, v)| match &v.default {
            Some(d) => format!("{q}{k}{q} (default {q}{d}{q})"),
            None => format!("{q}{k}{q}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The README's support matrix, generated from the catalog so that it cannot drift from it.
pub fn support_matrix(catalog: &Catalog) -> String {
    let mut out = String::from(
        "| provider | id | PKCE | refresh | revocation | device code | nickname from | client secret | asks for |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    let at = |u: &url::Url| format!("`{}{}`", u.host_str().unwrap_or(""), u.path());
    for p in catalog.iter() {
        let (urls, quirks) = (&p.urls, &p.quirks);
        let oidc = urls.issuer.is_some();
        let refresh = match (p.refresh_tokens, &urls.refresh_url) {
            (false, _) => "no".to_string(),
            (true, Some(u)) => format!("at {}", at(u)),
            (true, None) => "yes".to_string(),
        };
        let revocation = match (quirks.revocation, &urls.revocation_url, oidc) {
            (RevocationStyle::None, _, _) | (_, None, false) => "none (local only)",
            (RevocationStyle::Bearer, _, _) => "bearer POST",
            (RevocationStyle::Rfc7009, Some(_), _) => "RFC 7009",
            (RevocationStyle::Rfc7009, None, true) => "if discovered",
        };
        let device = match (&urls.device_authorization_url, oidc) {
            (Some(_), _) => "yes",
            (None, true) => "if discovered",
            (None, false) => "no",
        };
        let nickname = match (&urls.userinfo_url, oidc) {
            (Some(u), _) if quirks.userinfo_query.is_some() => format!("GraphQL {}", at(u)),
            (Some(u), _) => at(u),
            (None, true) => "userinfo (discovered)".into(),
            (None, false) if quirks.user_path.is_some() => "token response".into(),
            (None, false) => "ID token, else the account id".into(),
        };
        let vars = variables_text(&p.variables, true);
        out.push_str(&format!(
            "| {} | `{}` | {} | {} | {} | {} | {} | {} | {} |\n",
            p.display_name,
            p.id,
            yes_no(quirks.pkce),
            refresh,
            revocation,
            device,
            nickname,
            match p.token_request_auth_method {
                TokenAuthMethod::None => "no",
                TokenAuthMethod::ClientSecretPost => "yes (post)",
                TokenAuthMethod::ClientSecretBasic => "yes (basic)",
                TokenAuthMethod::PrivateKeyJwt => "yes (private key)",
            },
            if vars.is_empty() { "—" } else { &vars },
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readme_support_matrix_is_the_generated_one() {
        let readme = include_str!("../../../../README.md");
        let (start, end) = ("<!-- support-matrix:start -->\n", "<!-- support-matrix:end -->");
        let from = readme.find(start).expect("README has the matrix markers") + start.len();
        let to = readme[from..].find(end).expect("README closes the matrix") + from;
        let generated = support_matrix(&Catalog::builtin().unwrap());
        assert_eq!(
            &readme[from..to],
            generated,
            "README's support matrix is stale: regenerate it with `keyport providers --matrix`"
        );
    }
}
