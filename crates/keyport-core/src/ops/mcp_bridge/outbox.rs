//! What the bridge has for the client, on its way out: one task writes it to the client, a line
//! each, and what waits for that task is bounded in bytes ([`MAX_QUEUED_BYTES`]). A sender waits
//! while the budget is spent, so a stream of the server's stops being read while the client does
//! not read its own pipe: the server's TCP window fills and holds the server back, instead of
//! the bridge growing with everything the server sends (632 MiB, before this bound).

use std::sync::Arc;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// The most the messages waiting for the client may hold (one larger message may wait alone).
pub(super) const MAX_QUEUED_BYTES: usize = 8 * 1024 * 1024;

/// What one waiting message costs besides its text (its place in the queue), so that a flood of
/// tiny messages is bounded too.
const PER_MESSAGE: usize = 64;

/// The sending side: cloned by every task that has something for the client.
#[derive(Clone)]
pub(super) struct Outbox {
    lines: mpsc::UnboundedSender<(String, OwnedSemaphorePermit)>,
    budget: Arc<Semaphore>,
}

impl Outbox {
    /// An outbox writing to `output`, and the task that writes: it ends once every sender is
    /// gone and everything sent was written, or when `output` fails (the client went away).
    pub(super) fn new<W>(mut output: W) -> (Outbox, tokio::task::JoinHandle<()>)
    where
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (lines, mut waiting) = mpsc::unbounded_channel::<(String, OwnedSemaphorePermit)>();
        let budget = Arc::new(Semaphore::new(MAX_QUEUED_BYTES));
        let closing = budget.clone();
        let writer = tokio::spawn(async move {
            while let Some((line, _spent)) = waiting.recv().await {
                let written = async {
                    output.write_all(line.as_bytes()).await?;
                    output.write_all(b"\n").await?;
                    output.flush().await
                };
                if written.await.is_err() {
                    // Nobody reads any more: senders must not wait for room that never comes.
                    closing.close();
                    return;
                }
                // `_spent` goes here: its bytes are the client's now.
            }
        });
        (Outbox { lines, budget }, writer)
    }

    /// Hands `line` to the writer, once the queue has room for it.
    pub(super) async fn send(&self, line: String) {
        let cost = (line.len() + PER_MESSAGE).min(MAX_QUEUED_BYTES);
        let cost = u32::try_from(cost).expect("the queue's budget fits in u32");
        // An error means the writer stopped (the client is gone): the line has nowhere to go.
        if let Ok(spent) = self.budget.clone().acquire_many_owned(cost).await {
            let _ = self.lines.send((line, spent));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_that_does_not_read_holds_the_senders_back_at_the_budget() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            // A pipe of 64 KiB nobody reads: the writer stops there.
            let (unread, mut reader) = tokio::io::duplex(64 * 1024);
            let (outbox, _writer) = Outbox::new(unread);
            let line = "x".repeat(64 * 1024);
            let mut sent = 0;
            loop {
                let sending = outbox.send(line.clone());
                match tokio::time::timeout(std::time::Duration::from_millis(200), sending).await {
                    Ok(()) => sent += line.len(),
                    Err(_) => break,
                }
                assert!(
                    sent <= 2 * MAX_QUEUED_BYTES,
                    "{sent} bytes queued and still taken"
                );
            }
            assert!(sent >= MAX_QUEUED_BYTES / 2, "held back early, at {sent} bytes");
            // Once the client reads, everything queued comes out, in order, a line each.
            let draining = tokio::spawn(async move {
                let mut all = Vec::new();
                tokio::io::AsyncReadExt::read_to_end(&mut reader, &mut all)
                    .await
                    .unwrap();
                all
            });
            outbox.send("last".into()).await;
            drop(outbox);
            let all = draining.await.unwrap();
            let text = String::from_utf8(all).unwrap();
            assert!(text.ends_with("\nlast\n"), "{}", &text[text.len() - 16..]);
            assert_eq!(text.lines().count(), sent / line.len() + 1);
        });
    }
}
