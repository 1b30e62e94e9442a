//! Prompt templates: text with `{name}` placeholders, `{{` and `}}` for literal braces.
//!
//! A placeholder may carry filters, applied left to right with Python's semantics:
//! `{question|strip}`, `{question|capitalize}`. The filters are [`FILTERS`].

use crate::pycompat::{is_py_space, py_lower, py_strip, py_upper};

/// The filters a placeholder may name, each as the Python method it copies.
pub(crate) const FILTERS: [&str; 6] = ["strip", "lstrip", "rstrip", "capitalize", "lower", "upper"];

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// Literal text.
    Text(String),
    /// A named value, then filters.
    Value { name: String, filters: Vec<String> },
}

/// A parsed prompt template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pieces: Vec<Piece>,
}

impl Template {
    /// Parses `text`; the error says what is malformed and where (a character offset).
    pub(crate) fn parse(text: &str) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut literal = String::new();
        let mut chars = text.char_indices().peekable();
        while let Some((at, c)) = chars.next() {
            match c {
                '{' if chars.peek().is_some_and(|&(_, n)| n == '{') => {
                    chars.next();
                    literal.push('{');
                }
                '}' if chars.peek().is_some_and(|&(_, n)| n == '}') => {
                    chars.next();
                    literal.push('}');
                }
                '{' => {
                    let mut inner = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, '{')) | None => {
                                return Err(format!(
                                    "unclosed `{{` at character {} (write `{{{{` for a literal brace)",
                                    text[..at].chars().count()
                                ))
                            }
                            Some((_, n)) => inner.push(n),
                        }
                    }
                    let piece = placeholder(&inner, text[..at].chars().count())?;
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(piece);
                }
                '}' => {
                    return Err(format!(
                        "unmatched `}}` at character {} (write `}}}}` for a literal brace)",
                        text[..at].chars().count()
                    ))
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template { pieces })
    }

    /// The names the template refers to, in order of first use.
    pub(crate) fn placeholders(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for piece in &self.pieces {
            if let Piece::Value { name, .. } = piece {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// Renders the template, asking `value` for each placeholder's text before its filters.
    pub(crate) fn render<E>(&self, mut value: impl FnMut(&str) -> Result<String, E>) -> Result<String, E> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Value { name, filters } => {
                    let mut text = value(name)?;
                    for filter in filters {
                        text = apply_filter(filter, &text);
                    }
                    out.push_str(&text);
                }
            }
        }
        Ok(out)
    }
}

/// Parses the inside of `{...}` found at character `at`.
fn placeholder(inner: &str, at: usize) -> Result<Piece, String> {
    let mut parts = inner.split('|');
    let name = parts.next().unwrap_or("");
    if name.trim().is_empty() {
        return Err(format!("empty placeholder `{{{inner}}}` at character {at}"));
    }
    if name.trim() != name {
        return Err(format!("placeholder `{{{inner}}}` has spaces around the name"));
    }
    let filters: Vec<String> = parts.map(str::to_string).collect();
    if let Some(bad) = filters.iter().find(|f| !FILTERS.contains(&f.as_str())) {
        return Err(format!("placeholder `{{{inner}}}`: unknown filter `{bad}` (known: {})", FILTERS.join(", ")));
    }
    Ok(Piece::Value { name: name.to_string(), filters })
}

fn apply_filter(filter: &str, text: &str) -> String {
    match filter {
        "strip" => py_strip(text).to_string(),
        "lstrip" => text.trim_start_matches(is_py_space).to_string(),
        "rstrip" => text.trim_end_matches(is_py_space).to_string(),
        "capitalize" => py_capitalize(text),
        "lower" => py_lower(text),
        "upper" => py_upper(text),
        // Filters are checked when the template is parsed.
        _ => text.to_string(),
    }
}

/// Python's `str.capitalize()`: the first character in title case, the rest lower-cased.
pub(crate) fn py_capitalize(text: &str) -> String {
    let mut chars = text.chars();
    let Some(first) = chars.next() else { return String::new() };
    let mut out = title_case(first);
    out.push_str(&py_lower(chars.as_str()));
    out
}

/// A character's title-case mapping: the four Latin digraphs have their own title forms; other
/// characters upper-case, and where that expands (`ß` to `SS`) only the first stays upper.
fn title_case(c: char) -> String {
    match c {
        'Ǆ' | 'ǅ' | 'ǆ' => "ǅ".into(),
        'Ǉ' | 'ǈ' | 'ǉ' => "ǈ".into(),
        'Ǌ' | 'ǋ' | 'ǌ' => "ǋ".into(),
        'Ǳ' | 'ǲ' | 'ǳ' => "ǲ".into(),
        _ => {
            let mut upper = c.to_uppercase();
            let mut out: String = upper.next().into_iter().collect();
            out.push_str(&upper.collect::<String>().to_lowercase());
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{py_capitalize, Template};

    fn render(t: &Template) -> String {
        t.render(|name| Ok::<_, ()>(format!(" {} ", name.to_uppercase()))).expect("renders")
    }

    #[test]
    fn placeholders_and_escapes() {
        let t = Template::parse("{question}\n{{x}} {hint}{question}").expect("parses");
        assert_eq!(t.placeholders(), vec!["question", "hint"]);
        assert_eq!(render(&t), " QUESTION \n{x}  HINT  QUESTION ");
        assert_eq!(render(&Template::parse("plain").expect("parses")), "plain");
    }

    #[test]
    fn filters_apply_in_order() {
        let t = Template::parse("[{q|strip}][{q|lstrip}][{q|rstrip}][{q|strip|lower}]").expect("parses");
        assert_eq!(t.placeholders(), vec!["q"]);
        assert_eq!(render(&t), "[Q][Q ][ Q][q]");
        let t = Template::parse("{q|capitalize}").expect("parses");
        let out = t.render(|_| Ok::<_, ()>("wHAT is THE time?".into())).expect("renders");
        assert_eq!(out, "What is the time?");
    }

    #[test]
    fn capitalize_is_pythons() {
        assert_eq!(py_capitalize(""), "");
        assert_eq!(py_capitalize("ßa"), "Ssa");
        assert_eq!(py_capitalize("ǆemal"), "ǅemal");
        assert_eq!(py_capitalize("3 CATS"), "3 cats");
        assert_eq!(py_capitalize(" hello"), " hello");
    }

    #[test]
    fn malformed_templates_are_rejected() {
        for bad in ["{question", "question}", "{}", "{ }", "a {b{c}}", "{ question }", "{q|trim}", "{|strip}"] {
            assert!(Template::parse(bad).is_err(), "{bad:?}");
        }
        let err = Template::parse("{q|trim}").expect_err("unknown filter");
        assert!(err.contains("unknown filter `trim`"), "{err}");
    }
}
