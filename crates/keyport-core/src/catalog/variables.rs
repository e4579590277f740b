//! `{variables}` in a provider's endpoint URLs: a tenant, a shop, a self-hosted server. Values are
//! filled in per connection and may never change the structure of the URL they land in.

use super::schema::Provider;
use crate::error::{Error, Result};
use crate::model::EndpointSet;
use crate::model::{check_endpoint, AddressSpace};
use std::collections::BTreeMap;
use url::Url;

/// A value must stay inside the URL part it was written in: no `/`, `?`, `@`, `:` or `#` that
/// could move the request to another host or path, and not `.` or `..`, which a URL parser
/// resolves as path segments (`tenant=..` would drop the tenant from the path).
pub(super) fn valid_value(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 253
        && !v.chars().all(|c| c == '.')
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// `template` with each `{name}` replaced by its value; an unknown name is an error.
fn substitute(template: &str, values: &BTreeMap<String, String>) -> std::result::Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            return Err(format!("unclosed '{{' in {template}"));
        };
        let name = &rest[start + 1..start + len];
        let value = values.get(name).ok_or_else(|| {
            format!("{template} uses {{{name}}}, which is not among the provider's `variables`")
        })?;
        out.push_str(&rest[..start]);
        out.push_str(value);
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The endpoint fields, substituted and checked (https, or http on loopback; an address in them
/// within what a server in `space` may name).
pub(super) fn endpoint_urls(
    templates: &EndpointSet<Option<String>>,
    values: &BTreeMap<String, String>,
    space: AddressSpace,
) -> std::result::Result<EndpointSet<Option<Url>>, String> {
    templates.clone().try_map(|field, template| {
        let Some(template) = template else { return Ok(None) };
        let text = substitute(&template, values)?;
        let url = Url::parse(&text).map_err(|e| format!("`{field}` is not a valid URL ({e}): {text}"))?;
        check_endpoint(&url)?;
        space.check_url(&url).map_err(|m| format!("`{field}`: {m}"))?;
        Ok(Some(url))
    })
}

impl Provider {
    /// This provider for one connection: `given` values (else the defaults) substituted into its
    /// endpoints. Unknown names, missing values and values that could change the URL's structure
    /// are refused.
    pub fn with_variables(&self, given: &BTreeMap<String, String>) -> Result<Provider> {
        let mut values = BTreeMap::new();
        for (name, value) in given {
            if !self.variables.contains_key(name) {
                let known: Vec<&str> = self.variables.keys().map(String::as_str).collect();
                return Err(Error::Usage(if known.is_empty() {
                    format!("{} takes no variables (got \"{name}\")", self.display_name)
                } else {
                    format!(
                        "{} has no variable \"{name}\"; it has: {}",
                        self.display_name,
                        known.join(", ")
                    )
                }));
            }
            if !valid_value(value) {
                return Err(Error::Usage(format!(
                    "the value of {name} may hold only letters, digits, '.', '-' and '_', and may not be \
                     '.' or '..' (got \"{value}\")"
                )));
            }
            values.insert(name.clone(), value.clone());
        }
        for (name, var) in &self.variables {
            if values.contains_key(name) {
                continue;
            }
            match &var.default {
                Some(d) => {
                    values.insert(name.clone(), d.clone());
                }
                None => {
                    return Err(Error::MissingVariable {
                        provider: self.display_name.clone(),
                        name: name.clone(),
                        description: var.description.clone(),
                    })
                }
            }
        }
        let urls = endpoint_urls(&self.templates, &values, self.quirks.address_space)
            .map_err(|m| Error::Usage(format!("{}: {m}", self.display_name)))?;
        Ok(Provider { urls, ..self.clone() })
    }
}

#[cfg(test)]
mod tests {
    use crate::catalog::Catalog;
    use std::collections::BTreeMap;

    #[test]
    fn variables_are_substituted_and_cannot_change_the_url() {
        let catalog = Catalog::from_sources(None, "none").unwrap();
        let ms = catalog.get("microsoft").unwrap();
        let default = ms.with_variables(&BTreeMap::new()).unwrap();
        assert_eq!(
            default.urls.token_url.unwrap().as_str(),
            "https://login.microsoftonline.com/common/oauth2/v2.0/token"
        );
        let vars = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        let tenant = ms
            .with_variables(&vars("tenant", "contoso.onmicrosoft.com"))
            .unwrap();
        assert_eq!(
            tenant.urls.authorization_url.unwrap().as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize"
        );
        for dots in [".", ".."] {
            let e = ms.with_variables(&vars("tenant", dots)).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Usage, "{dots:?}");
        }
        let shopify = catalog.get("shopify").unwrap();
        let e = shopify.with_variables(&BTreeMap::new()).unwrap_err();
        assert!(
            matches!(&e, crate::error::Error::MissingVariable { name, .. } if name == "shop"),
            "{e}"
        );
        assert_eq!(
            shopify
                .with_variables(&vars("shop", "acme"))
                .unwrap()
                .urls
                .token_url
                .unwrap()
                .as_str(),
            "https://acme.myshopify.com/admin/oauth/access_token"
        );
        for bad in [
            "evil.com/x?",
            "a@evil.com",
            "evil.com#",
            "a:1",
            "",
            "a b",
            "é",
            "..",
            "...",
        ] {
            let e = shopify.with_variables(&vars("shop", bad)).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Usage, "{bad:?}");
        }
        let e = shopify.with_variables(&vars("tenant", "x")).unwrap_err();
        assert!(e.to_string().contains("no variable \"tenant\""), "{e}");
        // A catalog entry may only use the variables it declares.
        let err = Catalog::from_sources(
            Some("[providers.p]\nauthorization_url = \"https://{nope}/a\"\ntoken_url = \"https://x/t\"\n"),
            "user",
        )
        .unwrap_err();
        assert!(err.to_string().contains("{nope}"), "{err}");
    }
}
