//! Python list literals of strings, as `ast.literal_eval` reads them: MMMU stores each row's
//! options as the `repr` of a Python list (`"['$6', '$7', \"Bob's\"]"`, `"[]"` for open
//! questions), and lmms-eval parses it with `ast.literal_eval`.
//!
//! Supported: `[` … `]` with single- or double-quoted items separated by commas (a trailing comma
//! is allowed), adjacent literals concatenated (`'a' 'b'` is `'ab'`), the `r` prefix, and
//! Python's escapes (`\\`, `\'`, `\"`, `\n`, `\t`, `\r`, `\a`, `\b`, `\f`, `\v`, `\0`–`\777`
//! octal, `\xhh`, `\uhhhh`, `\Uhhhhhhhh`, and a backslash before a newline). An unknown escape
//! keeps its backslash, as Python does. Triple-quoted strings, `\N{...}` and non-string items
//! are errors.

use std::iter::Peekable;
use std::str::CharIndices;

/// Parses a Python list of string literals; the error says what is wrong and where.
pub fn parse_py_str_list(text: &str) -> Result<Vec<String>, String> {
    let mut p = Parser { text, chars: text.char_indices().peekable() };
    p.skip_space();
    p.expect('[')?;
    let mut items = Vec::new();
    loop {
        p.skip_space();
        match p.peek() {
            Some(']') => {
                p.chars.next();
                break;
            }
            None => return Err("unclosed `[`".into()),
            _ => {}
        }
        items.push(p.string_item()?);
        p.skip_space();
        match p.chars.next() {
            Some((_, ',')) => {}
            Some((_, ']')) => break,
            Some((at, c)) => return Err(format!("expected `,` or `]` at character {}, found `{c}`", p.pos(at))),
            None => return Err("unclosed `[`".into()),
        }
    }
    p.skip_space();
    match p.chars.next() {
        None => Ok(items),
        Some((at, c)) => Err(format!("unexpected `{c}` after the list at character {}", p.pos(at))),
    }
}

struct Parser<'a> {
    text: &'a str,
    chars: Peekable<CharIndices<'a>>,
}

impl Parser<'_> {
    fn peek(&mut self) -> Option<char> {
        self.chars.peek().map(|&(_, c)| c)
    }

    fn pos(&self, byte: usize) -> usize {
        self.text[..byte].chars().count()
    }

    fn skip_space(&mut self) {
        while self.peek().is_some_and(|c| c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            self.chars.next();
        }
    }

    fn expect(&mut self, want: char) -> Result<(), String> {
        match self.chars.next() {
            Some((_, c)) if c == want => Ok(()),
            Some((at, c)) => Err(format!("expected `{want}` at character {}, found `{c}`", self.pos(at))),
            None => Err(format!("expected `{want}`, found the end")),
        }
    }

    /// One list item: one or more adjacent string literals, concatenated.
    fn string_item(&mut self) -> Result<String, String> {
        let mut out = self.literal()?;
        loop {
            self.skip_space();
            match self.peek() {
                Some('\'' | '"' | 'r' | 'R') => out.push_str(&self.literal()?),
                _ => return Ok(out),
            }
        }
    }

    fn literal(&mut self) -> Result<String, String> {
        let raw = matches!(self.peek(), Some('r' | 'R'));
        if raw {
            self.chars.next();
        }
        let (at, quote) = match self.chars.next() {
            Some((at, q @ ('\'' | '"'))) => (at, q),
            Some((at, c)) => return Err(format!("expected a string at character {}, found `{c}`", self.pos(at))),
            None => return Err("expected a string, found the end".into()),
        };
        if self.text[at + 1..].starts_with([quote, quote]) {
            return Err(format!("triple-quoted string at character {} is not supported", self.pos(at)));
        }
        let mut out = String::new();
        loop {
            match self.chars.next() {
                None | Some((_, '\n')) => return Err(format!("unterminated string at character {}", self.pos(at))),
                Some((_, c)) if c == quote => return Ok(out),
                Some((_, '\\')) if raw => {
                    // A raw string keeps the backslash, but it still escapes a quote.
                    out.push('\\');
                    if let Some((_, c)) = self.chars.next() {
                        out.push(c);
                    }
                }
                Some((_, '\\')) => self.escape(&mut out)?,
                Some((_, c)) => out.push(c),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), String> {
        let Some((at, c)) = self.chars.next() else { return Err("unterminated string".into()) };
        let simple = match c {
            '\n' => Some(None),
            '\\' | '\'' | '"' => Some(Some(c)),
            'n' => Some(Some('\n')),
            't' => Some(Some('\t')),
            'r' => Some(Some('\r')),
            'a' => Some(Some('\x07')),
            'b' => Some(Some('\x08')),
            'f' => Some(Some('\x0c')),
            'v' => Some(Some('\x0b')),
            _ => None,
        };
        if let Some(ch) = simple {
            out.extend(ch);
            return Ok(());
        }
        let code = match c {
            '0'..='7' => {
                let mut value = c.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match self.peek().and_then(|d| d.to_digit(8)) {
                        Some(d) => {
                            value = value * 8 + d;
                            self.chars.next();
                        }
                        None => break,
                    }
                }
                value
            }
            'x' => self.hex(2, at)?,
            'u' => self.hex(4, at)?,
            'U' => self.hex(8, at)?,
            'N' => return Err(format!("`\\N{{...}}` escape at character {} is not supported", self.pos(at))),
            other => {
                out.push('\\');
                out.push(other);
                return Ok(());
            }
        };
        let ch = char::from_u32(code)
            .ok_or_else(|| format!("escape at character {} is not a valid character", self.pos(at)))?;
        out.push(ch);
        Ok(())
    }

    fn hex(&mut self, digits: usize, at: usize) -> Result<u32, String> {
        let mut value = 0u32;
        for _ in 0..digits {
            let digit = self.chars.next().and_then(|(_, d)| d.to_digit(16));
            let digit = digit.ok_or_else(|| format!("truncated escape at character {}", self.pos(at)))?;
            value = value.wrapping_mul(16).wrapping_add(digit);
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_py_str_list;

    fn ok(text: &str) -> Vec<String> {
        parse_py_str_list(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    #[test]
    fn mmmu_style_lists() {
        assert_eq!(ok("['$6', '$7', '$8', '$9']"), vec!["$6", "$7", "$8", "$9"]);
        assert!(ok("[]").is_empty());
        assert!(ok("  [ ]  ").is_empty());
        assert_eq!(ok("[\"Bob's\", 'say \"hi\"']"), vec!["Bob's", "say \"hi\""]);
        assert_eq!(ok("['<image 1>', '<image 2>',]"), vec!["<image 1>", "<image 2>"]);
    }

    #[test]
    fn escapes_follow_python() {
        assert_eq!(ok(r"['it\'s', 'a\\b', 'x\ny', 'tab\t']"), vec!["it's", "a\\b", "x\ny", "tab\t"]);
        assert_eq!(ok(r"['\x41\u00e9\U0001F600\101\0']"), vec!["A\u{e9}\u{1F600}A\0"]);
        // Unknown escapes keep the backslash (Python warns, then keeps it).
        assert_eq!(ok(r"['\d+\%']"), vec!["\\d+\\%"]);
        assert_eq!(ok(r"[r'\frac{1}{2}']"), vec!["\\frac{1}{2}"]);
        assert_eq!(ok("['ab' \"cd\"]"), vec!["abcd"]);
        assert_eq!(ok("['\u{3b1} \u{2264} \u{3b2}']"), vec!["\u{3b1} \u{2264} \u{3b2}"]);
    }

    #[test]
    fn malformed_lists_are_errors() {
        for bad in ["", "['a'", "['a' 'b", "[1, 2]", "['a'] x", "'a'", "['''a''']", "['a',, 'b']", r"['\xZ1']"] {
            assert!(parse_py_str_list(bad).is_err(), "{bad:?}");
        }
        let err = parse_py_str_list("['a' , 3]").expect_err("number");
        assert!(err.contains("character 7"), "{err}");
    }
}
