//! Escaping text for markup: one function for HTML pages (the report) and XML files (the gate's
//! JUnit output), so both escape the same way.
//!
//! ```
//! use smolbench_core::markup::escape;
//! assert_eq!(escape("a<b & 'c'"), "a&lt;b &amp; &#39;c&#39;");
//! ```

/// Escapes `text` for element content and quoted attribute values of HTML and XML alike:
/// `& < > " '` become entity or character references (`&#39;` is understood by both, where
/// `&apos;` is not HTML 4), and control characters XML 1.0 forbids become a space (tab, line feed
/// and carriage return are kept).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_quotes_are_escaped_and_forbidden_controls_replaced() {
        assert_eq!(
            escape("<img src=x onerror=\"a('b')\"> & co"),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt; &amp; co"
        );
        assert_eq!(escape("a\u{1}b\tc\nd\u{FFFF}"), "a b\tc\nd ");
        assert_eq!(escape("Ünïcode ✓"), "Ünïcode ✓");
    }
}
