//! Which revision of MCP a client's message speaks, and what a 2026-07-28 request carries besides
//! its body. That revision is stateless: every request stands alone (its `_meta` names the
//! protocol version, the client and its capabilities), and the HTTP request repeats the routing
//! facts a gateway needs without reading the body: `MCP-Protocol-Version`, `Mcp-Method`,
//! `Mcp-Name` for the methods that name something, and `Mcp-Param-<token>` for each tool argument
//! whose schema says `x-mcp-header: <token>`. The server refuses a request whose headers and body
//! disagree, so the bridge derives the headers from the body it forwards, and learns the
//! annotations from the `tools/list` answers it passes back.

use serde_json::Value;
use std::collections::HashMap;

/// The `_meta` key of a 2026-07-28 request naming its protocol version.
const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";

/// The protocol version a 2026-07-28-era message names in its `_meta`; `None` for a message of
/// the handshake era (2024-11-05 to 2025-11-25), which relies on `initialize` and a session.
pub(super) fn per_request_version(message: &Value) -> Option<&str> {
    message["params"]["_meta"][PROTOCOL_VERSION_KEY].as_str()
}

/// The routing headers of a 2026-07-28 request, from its body; `tools` holds the `x-mcp-header`
/// annotations learnt from `tools/list`.
pub(super) fn routing_headers(message: &Value, version: &str, tools: &ToolHeaders) -> Vec<(String, String)> {
    let method = message["method"].as_str().unwrap_or_default();
    let mut headers = vec![
        ("mcp-protocol-version".to_string(), version.to_string()),
        ("mcp-method".to_string(), encode(method)),
    ];
    let named = match method {
        "tools/call" | "prompts/get" => message["params"]["name"].as_str(),
        "resources/read" => message["params"]["uri"].as_str(),
        _ => None,
    };
    if let Some(name) = named {
        headers.push(("mcp-name".to_string(), encode(name)));
    }
    if method == "tools/call" {
        if let Some(annotated) = named.and_then(|n| tools.0.get(n)) {
            let arguments = &message["params"]["arguments"];
            for (path, token) in annotated {
                let value = path.iter().try_fold(arguments, |node, key| node.get(key));
                if let Some(rendered) = value.and_then(render) {
                    headers.push((format!("mcp-param-{token}"), encode(&rendered)));
                }
            }
        }
    }
    headers
}

/// The `x-mcp-header` annotations of each tool: a property path in its arguments and the token
/// its header is named after.
#[derive(Debug, Default)]
pub(super) struct ToolHeaders(HashMap<String, Vec<(Vec<String>, String)>>);

impl ToolHeaders {
    /// Learns the annotations of the tools a `tools/list` answer describes.
    pub(super) fn learn(&mut self, answer: &Value) {
        let Some(tools) = answer["result"]["tools"].as_array() else {
            return;
        };
        for tool in tools {
            let Some(name) = tool["name"].as_str() else {
                continue;
            };
            let mut found = Vec::new();
            annotations(&tool["inputSchema"], &mut Vec::new(), &mut found);
            if found.is_empty() {
                self.0.remove(name);
            } else {
                self.0.insert(name.to_string(), found);
            }
        }
    }
}

/// Walks `properties` from the schema's root: an annotation is only meaningful where a value's
/// place is fixed (the spec does not look inside `anyOf`, arrays and the like either).
fn annotations(schema: &Value, path: &mut Vec<String>, found: &mut Vec<(Vec<String>, String)>) {
    if let (false, Some(token)) = (path.is_empty(), schema["x-mcp-header"].as_str()) {
        found.push((path.clone(), token.to_ascii_lowercase()));
    }
    if let Some(properties) = schema["properties"].as_object() {
        for (key, sub) in properties {
            path.push(key.clone());
            annotations(sub, path, found);
            path.pop();
        }
    }
}

/// A scalar as the header carries it: booleans as `true`/`false`, integers and strings as they
/// are; other values (fractions among them, which do not round-trip) have no header.
fn render(value: &Value) -> Option<String> {
    match value {
        Value::Bool(b) => Some(b.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// A header value as MCP encodes it: printable ASCII without edge spaces goes as it is; anything
/// else (and anything that looks like the wrapper) as `=?base64?…?=` of its UTF-8.
fn encode(value: &str) -> String {
    use base64::Engine as _;
    let plain = value.bytes().all(|b| (0x20..=0x7e).contains(&b))
        && value.trim() == value
        && !(value.starts_with("=?base64?") && value.ends_with("?="));
    if plain {
        value.to_string()
    } else {
        let encoded = base64::engine::general_purpose::STANDARD.encode(value.as_bytes());
        format!("=?base64?{encoded}?=")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_message_names_its_revision_in_its_meta() {
        let modern = json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover",
            "params": {"_meta": {PROTOCOL_VERSION_KEY: "2026-07-28"}}});
        assert_eq!(per_request_version(&modern), Some("2026-07-28"));
        let handshake = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25"}});
        assert_eq!(per_request_version(&handshake), None);
    }

    #[test]
    fn a_tool_call_carries_its_method_name_and_annotated_arguments() {
        let mut tools = ToolHeaders::default();
        tools.learn(&json!({"result": {"tools": [{"name": "deploy", "inputSchema": {
        "type": "object",
        "properties": {
            "region": {"type": "string", "x-mcp-header": "Region"},
            "dry": {"type": "boolean", "x-mcp-header": "Dry"},
            "ratio": {"type": "number", "x-mcp-header": "Ratio"},
            "target": {"type": "object", "properties": {"env": {"type": "string", "x-mcp-header": "Env"}}}
        }}}]}}));
        let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "deploy", "arguments": {"region": "eu west ", "dry": true, "ratio": 0.5,
            "target": {"env": "prod"}}}});
        let mut headers = routing_headers(&call, "2026-07-28", &tools);
        headers.sort();
        let expected: Vec<(String, String)> = [
            ("mcp-method", "tools/call"),
            ("mcp-name", "deploy"),
            ("mcp-param-dry", "true"),
            ("mcp-param-env", "prod"),
            // A trailing space would not survive a header: wrapped.
            ("mcp-param-region", "=?base64?ZXUgd2VzdCA=?="),
            ("mcp-protocol-version", "2026-07-28"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(headers, expected);
    }

    #[test]
    fn resources_are_named_by_uri_and_other_methods_by_nothing() {
        let tools = ToolHeaders::default();
        let read = json!({"method": "resources/read", "params": {"uri": "file:///ä"}});
        let headers = routing_headers(&read, "2026-07-28", &tools);
        assert!(headers.contains(&("mcp-name".into(), "=?base64?ZmlsZTovLy/DpA==?=".into())));
        let list = json!({"method": "tools/list", "params": {}});
        assert_eq!(routing_headers(&list, "2026-07-28", &tools).len(), 2);
    }
}
