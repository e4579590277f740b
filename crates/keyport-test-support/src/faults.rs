//! A token endpoint that misbehaves on purpose: one canned answer (or non-answer) per test case.
//! It counts the requests it saw, so tests can check retries.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone)]
pub enum Fault {
    /// Answer with this status, content type and body.
    Answer(u16, &'static str, Vec<u8>),
    /// Send headers promising a body, then only part of it, and hang up.
    Truncated,
    /// Accept and say nothing until the client gives up.
    Stall,
    /// Close the connection without a word.
    Hangup,
}

pub struct FaultServer {
    pub url: String,
    fault: Arc<Mutex<Fault>>,
    requests: Arc<AtomicUsize>,
}

impl FaultServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/token", listener.local_addr().unwrap());
        let fault = Arc::new(Mutex::new(Fault::Hangup));
        let requests = Arc::new(AtomicUsize::new(0));
        let (f, r) = (fault.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (f, r) = (f.clone(), r.clone());
                std::thread::spawn(move || serve(stream, &f, &r));
            }
        });
        FaultServer { url, fault, requests }
    }

    /// From now on, answer every request with `fault`; resets the request count.
    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
        self.requests.store(0, Ordering::SeqCst);
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn serve(mut stream: TcpStream, fault: &Mutex<Fault>, requests: &AtomicUsize) {
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Read the head and the form body (Content-Length) before answering.
    loop {
        let Ok(n) = stream.read(&mut chunk) else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                break;
            }
        }
    }
    requests.fetch_add(1, Ordering::SeqCst);
    let fault = fault.lock().unwrap().clone();
    match fault {
        Fault::Answer(status, content_type, body) => {
            let head = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nLocation: http://127.0.0.1:9/elsewhere\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
        Fault::Truncated => {
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"access_token\":\"abc");
        }
        Fault::Stall => std::thread::sleep(Duration::from_secs(30)),
        Fault::Hangup => {}
    }
}
