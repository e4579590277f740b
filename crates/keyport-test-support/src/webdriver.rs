//! A WebDriver session with the desktop app in its real WebKit webview (WebKitWebDriver starts
//! the app), for the benchmark suite to run script in the window as the page itself would.
//! The GUI tests use the same driver from node (tests/gui).

use serde_json::{json, Value};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct WebDriver {
    driver: Child,
    session: String,
    base: String,
}

impl WebDriver {
    /// Starts WebKitWebDriver with `driver`'s environment (which the app inherits) and opens a
    /// session with `app`. Scripts may run for up to ten minutes.
    pub fn start(mut driver: Command, app: &Path) -> WebDriver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = driver
            .arg(format!("--port={port}"))
            .env("TAURI_WEBVIEW_AUTOMATION", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("WebKitWebDriver is installed (scripts/install-deps installs it)");
        let base = format!("http://127.0.0.1:{port}");
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "WebKitWebDriver did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut web = WebDriver {
            driver: child,
            session: String::new(),
            base,
        };
        let opened = web.post(
            "/session",
            json!({ "capabilities": { "alwaysMatch": {
                "webkitgtk:browserOptions": { "binary": app, "args": [] }
            } } }),
        );
        web.session = opened["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {opened}"))
            .to_string();
        web.post("/timeouts", json!({ "script": 600_000 }));
        web
    }

    /// The driver's process id (the app is its child).
    pub fn driver_pid(&self) -> u32 {
        self.driver.id()
    }

    /// Runs `script` in the page; it ends by calling its last argument with the result.
    pub fn execute_async(&self, script: &str, args: Value) -> Value {
        self.post("/execute/async", json!({ "script": script, "args": args }))
    }

    /// A POST to the driver (to the session's own path once there is one); the answer's `value`.
    fn post(&self, path: &str, body: Value) -> Value {
        let url = if self.session.is_empty() {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let mut answer: Value = ureq::post(&url)
            .send_json(&body)
            .unwrap_or_else(|e| panic!("WebDriver {path}: {e}"))
            .body_mut()
            .read_json()
            .unwrap();
        answer["value"].take()
    }
}

impl Drop for WebDriver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = ureq::delete(&format!("{}/session/{}", self.base, self.session)).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
