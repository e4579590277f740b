//! Server-sent events (the WHATWG `text/event-stream` format), as MCP's Streamable HTTP uses them:
//! a whole POST answer read at once, or a long-lived GET stream read as its bytes come, keeping
//! each event's `id` (for `Last-Event-ID` on reconnection) and the server's `retry` delay.

/// One event: its `data` lines joined with `\n`, its `id` and `retry` when it has them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Event {
    /// The `event` field: its type (`message` when none is given).
    pub kind: Option<String>,
    pub id: Option<String>,
    pub retry_ms: Option<u64>,
    pub data: Option<String>,
}

/// An event stream read piece by piece: bytes in, complete events out.
#[derive(Default)]
pub struct EventReader {
    pending: Vec<u8>,
}

/// The most an event may hold before the stream is judged broken.
const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

impl EventReader {
    /// The event the stream's end completes, if one was under way.
    pub fn finish(&mut self) -> Vec<Event> {
        self.push(b"\n\n").unwrap_or_default()
    }

    /// The events `bytes` completes; `Err` when one grows past any sensible size.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Event>, String> {
        self.pending.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some((end, gap)) = blank_line(&self.pending) {
            let block: Vec<u8> = self.pending.drain(..end + gap).collect();
            let event = parse(&String::from_utf8_lossy(&block[..end]));
            if event != Event::default() {
                events.push(event);
            }
        }
        if self.pending.len() > MAX_EVENT_BYTES {
            return Err("an event of the MCP server's stream is too large".into());
        }
        Ok(events)
    }
}

/// Where the first blank line (the end of an event) is, and how long the line break is.
fn blank_line(bytes: &[u8]) -> Option<(usize, usize)> {
    (0..bytes.len()).find_map(|i| {
        let rest = &bytes[i..];
        [&b"\r\n\r\n"[..], b"\n\n", b"\r\r"]
            .iter()
            .find(|sep| rest.starts_with(sep))
            .map(|sep| (i, sep.len()))
    })
}

/// One event's fields (comments and unknown fields are skipped).
fn parse(block: &str) -> Event {
    let mut event = Event::default();
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => data.push(value),
            "event" => event.kind = Some(value.to_string()),
            // An id with a NUL is ignored, as the format says.
            "id" if !value.contains('\0') => event.id = Some(value.to_string()),
            "retry" => event.retry_ms = value.parse().ok().or(event.retry_ms),
            _ => {}
        }
    }
    if !data.is_empty() && !data.join("").trim().is_empty() {
        event.data = Some(data.join("\n"));
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_come_out_whole_however_the_bytes_are_cut() {
        let stream = b"event: message\r\nid: 1\r\ndata: {\"a\":\r\ndata: 1}\r\n\r\n: comment\n\nretry: 2500\nid: 2\ndata: {\"b\":2}\n\n";
        for cut in 1..stream.len() {
            let mut reader = EventReader::default();
            let mut events = reader.push(&stream[..cut]).unwrap();
            events.extend(reader.push(&stream[cut..]).unwrap());
            assert_eq!(
                events,
                [
                    Event {
                        kind: Some("message".into()),
                        id: Some("1".into()),
                        retry_ms: None,
                        data: Some("{\"a\":\n1}".into())
                    },
                    Event {
                        kind: None,
                        id: Some("2".into()),
                        retry_ms: Some(2500),
                        data: Some("{\"b\":2}".into())
                    }
                ],
                "cut at {cut}"
            );
        }
        let mut unended = EventReader::default();
        assert!(unended.push(b"data: {\"c\":3}").unwrap().is_empty());
        let last = unended.finish();
        assert_eq!(last[0].data.as_deref(), Some("{\"c\":3}"));
        let mut huge = EventReader::default();
        assert!(huge.push(&vec![b'x'; MAX_EVENT_BYTES + 1]).is_err());
    }
}
