//! Debug builds only: `keyport agent` with `KEYPORT_TEST_ANSWER_AFTER=SECONDS` asks before
//! programs use an account, as the app does, and a stand-in for the person answers "Allow once"
//! after that many seconds. The end-to-end tests use it to take as long as a person reading the
//! question does (half a minute and more) without the window, whose tests keep questions short.
//! Release builds have no such door.

use keyport_core::{Asker, Consent, ConsentBook, DeviceCode, Keyport, Question, Reply};
use std::sync::Arc;
use std::time::Duration;

/// The consent of an agent whose questions the stand-in answers, when the variable says so.
pub fn consent(keyport: &Keyport) -> Option<Consent> {
    let after: u64 = std::env::var("KEYPORT_TEST_ANSWER_AFTER").ok()?.parse().ok()?;
    let book = ConsentBook::open(keyport.home().data_dir(), || true).ok()?;
    book.set_asking(true).ok()?;
    Some(Consent::new(
        Arc::new(book),
        Arc::new(StandIn(Duration::from_secs(after))),
        Duration::from_secs(after + 60),
    ))
}

struct StandIn(Duration);

impl Asker for StandIn {
    fn ask(&self, _question: Question, reply: tokio::sync::oneshot::Sender<Reply>) {
        let after = self.0;
        std::thread::spawn(move || {
            std::thread::sleep(after);
            let _ = reply.send(Reply::Once);
        });
    }

    fn show_device_code(&self, _code: DeviceCode) {}
}
