//! Dot paths into JSON, as the catalog writes them (`authed_user`, `data.viewer`, `team.name`):
//! one reading for token paths, kept fields, user paths and nickname fields.

use serde_json::{Map, Value};

/// The value at `path` below `value`.
pub fn get<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// The value at `path` below an object's fields.
pub fn get_in<'a>(object: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let (first, rest) = match path.split_once('.') {
        Some((first, rest)) => (first, Some(rest)),
        None => (path, None),
    };
    let value = object.get(first)?;
    match rest {
        Some(rest) => get(value, rest),
        None => Some(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_reach_nested_fields_and_miss_cleanly() {
        let v = json!({"team": {"name": "Acme"}, "id": 7});
        assert_eq!(get(&v, "team.name"), Some(&json!("Acme")));
        assert_eq!(get(&v, "team.nope"), None);
        let object = v.as_object().unwrap();
        assert_eq!(get_in(object, "team.name"), Some(&json!("Acme")));
        assert_eq!(get_in(object, "id"), Some(&json!(7)));
        assert_eq!(get_in(object, "id.x"), None);
    }
}
