//! Incremental parsing of a server-sent-events byte stream into the `data` of each event.
//!
//! Bytes arrive in arbitrary pieces; lines end in `\n`, `\r\n` or `\r`; an event ends at a blank
//! line; several `data:` lines of one event are joined with `\n`; comment lines (`:`) and other
//! fields are skipped. [`SseParser::finish`] says whether the stream stopped mid-line.

/// An SSE parser fed with byte pieces.
#[derive(Debug, Default)]
pub struct SseParser {
    line: Vec<u8>,
    data: Option<String>,
    after_cr: bool,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes and returns the data of every event they complete.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        let mut events = Vec::new();
        for &b in bytes {
            if self.after_cr {
                self.after_cr = false;
                if b == b'\n' {
                    continue;
                }
            }
            match b {
                b'\n' | b'\r' => {
                    self.after_cr = b == b'\r';
                    let line = std::mem::take(&mut self.line);
                    self.end_line(&line, &mut events);
                }
                _ => self.line.push(b),
            }
        }
        events
    }

    fn end_line(&mut self, line: &[u8], events: &mut Vec<String>) {
        if line.is_empty() {
            if let Some(data) = self.data.take() {
                events.push(data);
            }
            return;
        }
        if line[0] == b':' {
            return;
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.find(':') {
            Some(i) => (&text[..i], text[i + 1..].strip_prefix(' ').unwrap_or(&text[i + 1..])),
            None => (&text[..], ""),
        };
        if field == "data" {
            match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_string()),
            }
        }
    }

    /// Ends the stream: returns the data of an event whose lines were complete but which had no
    /// closing blank line (servers often omit it on the last event), and whether bytes of an
    /// unfinished line were left over (the stream was cut mid-line).
    pub fn finish(&mut self) -> (Option<String>, bool) {
        let partial = !self.line.is_empty();
        (self.data.take(), partial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_anywhere_are_reassembled() {
        let stream = b": comment\r\ndata: {\"a\":1}\r\n\r\ndata: x\ndata: y\n\nevent: e\ndata: [DONE]\n\n";
        for split in 0..stream.len() {
            let mut p = SseParser::new();
            let mut events = p.push(&stream[..split]);
            events.extend(p.push(&stream[split..]));
            assert_eq!(events, vec!["{\"a\":1}", "x\ny", "[DONE]"], "split at {split}");
            assert_eq!(p.finish(), (None, false));
        }
    }

    #[test]
    fn a_stream_cut_mid_line_is_reported() {
        let mut p = SseParser::new();
        assert_eq!(p.push(b"data: {\"a\":1}\n\ndata: {\"b"), vec!["{\"a\":1}"]);
        assert_eq!(p.finish(), (None, true));
        let mut p = SseParser::new();
        assert!(p.push(b"data: [DONE]\n").is_empty());
        assert_eq!(p.finish(), (Some("[DONE]".to_string()), false));
    }
}
