//! Server-sent events (the WHATWG `text/event-stream` format), as MCP's Streamable HTTP uses them:
//! a whole POST answer read at once, or a long-lived GET stream read as its bytes come, keeping
//! each event's `id` (for `Last-Event-ID` on reconnection) and the server's `retry` delay.
//!
//! The stream is read line by line, as the format defines it, and each byte is handled a bounded
//! number of times (scanned once, then at most copied into the line under way, checked as UTF-8
//! and copied into its event): the server chooses how its bytes are cut and how many events they
//! hold, so the work must not depend on either. (Looking for the end of an event from the start of what was pending, and
//! moving the rest forward after each, made a stream of blank events cost quadratic time: 7 s of
//! CPU for 1 MiB.) What one event may hold is capped at [`MAX_EVENT_BYTES`].

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
    /// The line under way: the bytes after the last line break.
    line: Vec<u8>,
    /// The last byte was a CR: an LF first in the next piece belongs to the same line break.
    after_cr: bool,
    /// The fields of the event under way.
    event: Event,
    /// Its `data` lines so far, joined with `\n`.
    data: Option<String>,
    /// The bytes of the event under way, against [`MAX_EVENT_BYTES`].
    held: usize,
    /// Every byte scanned, copied or parsed: how the tests see that the work is linear.
    #[cfg(test)]
    work: usize,
}

/// The most an event may hold before the stream is judged broken.
pub const MAX_EVENT_BYTES: usize = 4 * 1024 * 1024;

impl EventReader {
    /// The event the stream's end completes, if one was under way.
    pub fn finish(&mut self) -> Vec<Event> {
        let mut events = Vec::new();
        if !self.line.is_empty() {
            let line = std::mem::take(&mut self.line);
            self.field(&line);
        }
        self.dispatch(&mut events);
        self.after_cr = false;
        events
    }

    /// The events `bytes` completes; `Err` when one grows past [`MAX_EVENT_BYTES`].
    pub fn push(&mut self, bytes: &[u8]) -> Result<Vec<Event>, String> {
        let mut events = Vec::new();
        let mut rest = bytes;
        if std::mem::take(&mut self.after_cr) && rest.first() == Some(&b'\n') {
            rest = &rest[1..];
        }
        while let Some(at) = rest.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.count(at + 1);
            let ended = &rest[..at];
            if self.line.is_empty() {
                self.line_ended(ended, &mut events);
            } else {
                self.count(ended.len());
                self.line.extend_from_slice(ended);
                let line = std::mem::take(&mut self.line);
                self.line_ended(&line, &mut events);
                // Keep the buffer's allocation for the next line under way.
                self.line = line;
                self.line.clear();
            }
            let cr = rest[at] == b'\r';
            rest = &rest[at + 1..];
            if cr {
                match rest.first() {
                    Some(b'\n') => rest = &rest[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
            if self.held > MAX_EVENT_BYTES {
                return Err(too_large());
            }
        }
        self.count(2 * rest.len());
        if self.held + self.line.len() + rest.len() > MAX_EVENT_BYTES {
            return Err(too_large());
        }
        self.line.extend_from_slice(rest);
        Ok(events)
    }

    /// A whole line: a field of the event under way, or (blank) its end.
    fn line_ended(&mut self, line: &[u8], events: &mut Vec<Event>) {
        if line.is_empty() {
            self.dispatch(events);
        } else {
            self.held += line.len();
            self.field(line);
        }
    }

    /// One `field: value` line (comments and unknown fields are skipped).
    fn field(&mut self, line: &[u8]) {
        self.count(line.len());
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (&*line, ""),
        };
        if field == "data" {
            self.count(value.len());
        }
        match field {
            "data" => match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            },
            "event" => self.event.kind = Some(value.to_string()),
            // An id with a NUL is ignored, as the format says.
            "id" if !value.contains('\0') => self.event.id = Some(value.to_string()),
            "retry" => self.event.retry_ms = value.parse().ok().or(self.event.retry_ms),
            _ => {}
        }
    }

    /// Ends the event under way: out when it says anything (blank lines and comments alone make
    /// nothing).
    fn dispatch(&mut self, events: &mut Vec<Event>) {
        let mut event = std::mem::take(&mut self.event);
        event.data = self.data.take().filter(|data| !data.trim().is_empty());
        self.held = 0;
        if event != Event::default() {
            events.push(event);
        }
    }

    #[cfg(test)]
    fn count(&mut self, bytes: usize) {
        self.work += bytes;
    }

    #[cfg(not(test))]
    fn count(&mut self, _bytes: usize) {}
}

fn too_large() -> String {
    "an event of the MCP server's stream is too large".into()
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
        let mut many_lines = EventReader::default();
        let line = format!("data: {}\n", "x".repeat(1000));
        let too_many = line.repeat(MAX_EVENT_BYTES / 1000 + 1);
        assert!(many_lines.push(too_many.as_bytes()).is_err());
    }

    #[test]
    fn every_line_break_of_the_format_ends_a_line() {
        // CR, LF and CRLF, mixed, as the format allows: each blank line ends an event.
        let stream = b"data: 1\r\rdata: 2\n\ndata: 3\r\n\r\ndata: 4\n\r\ndata: 5\r\n\n";
        let mut reader = EventReader::default();
        let data: Vec<String> = reader
            .push(stream)
            .unwrap()
            .into_iter()
            .filter_map(|e| e.data)
            .collect();
        assert_eq!(data, ["1", "2", "3", "4", "5"]);
    }

    /// The work of reading `stream` cut into pieces of `piece` bytes, and what came out.
    fn read_in_pieces(stream: &[u8], piece: usize) -> (usize, Vec<Event>) {
        let mut reader = EventReader::default();
        let mut events = Vec::new();
        for chunk in stream.chunks(piece) {
            events.extend(reader.push(chunk).unwrap());
        }
        events.extend(reader.finish());
        (reader.work, events)
    }

    #[test]
    fn the_work_grows_with_the_stream_not_with_how_it_is_cut_or_how_many_events_it_holds() {
        // 4 MiB of blank events before the answer, in one piece and in pieces of every kind; then
        // an event just under the cap arriving a kilobyte at a time. Each byte is scanned once,
        // and copied or parsed at most three times more.
        let answer = b"data: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n\n";
        let mut blanks = b"\n\n".repeat(2 * 1024 * 1024);
        blanks.extend_from_slice(answer);
        let mut big = b"data: ".to_vec();
        big.extend(std::iter::repeat_n(b'x', MAX_EVENT_BYTES - 16));
        big.extend_from_slice(b"\n\n");
        for (stream, piece) in [
            (&blanks, blanks.len()),
            (&blanks, 16 * 1024),
            (&blanks, 3),
            (&big, big.len()),
            (&big, 1024),
        ] {
            let (work, events) = read_in_pieces(stream, piece);
            assert_eq!(events.len(), 1, "one event in pieces of {piece}");
            assert!(
                work <= 4 * stream.len(),
                "{work} bytes of work for {} bytes in pieces of {piece}",
                stream.len()
            );
        }
    }
}
