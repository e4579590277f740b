//! The provider catalog parser, on any user providers.toml: an error or a catalog, never a panic;
//! every provider it accepts has usable endpoints.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(catalog) = keyport_core::Catalog::from_sources(Some(text), "fuzz") {
        for p in catalog.iter() {
            assert!(
                p.urls.issuer.is_some() || (p.urls.authorization_url.is_some() && p.urls.token_url.is_some())
            );
        }
    }
});
