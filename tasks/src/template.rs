//! Prompt templates: text with `{column}` placeholders, `{{` and `}}` for literal braces.

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// Literal text.
    Text(String),
    /// The value of the named column.
    Column(String),
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
                    let mut name = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, '{')) | None => {
                                return Err(format!(
                                    "unclosed `{{` at character {} (write `{{{{` for a literal brace)",
                                    text[..at].chars().count()
                                ))
                            }
                            Some((_, n)) => name.push(n),
                        }
                    }
                    if name.trim().is_empty() {
                        return Err(format!("empty placeholder `{{}}` at character {}", text[..at].chars().count()));
                    }
                    if name.trim() != name {
                        return Err(format!("placeholder `{{{name}}}` has spaces around the column name"));
                    }
                    if !literal.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut literal)));
                    }
                    pieces.push(Piece::Column(name));
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

    /// The column names the template refers to, in order of first use.
    pub(crate) fn placeholders(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for piece in &self.pieces {
            if let Piece::Column(name) = piece {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
        names
    }

    /// Renders the template, asking `value` for each placeholder's text.
    pub(crate) fn render<E>(&self, mut value: impl FnMut(&str) -> Result<String, E>) -> Result<String, E> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Column(name) => out.push_str(&value(name)?),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::Template;

    fn render(t: &Template) -> String {
        t.render(|name| Ok::<_, ()>(name.to_uppercase())).expect("renders")
    }

    #[test]
    fn placeholders_and_escapes() {
        let t = Template::parse("{question}\n{{x}} {hint}{question}").expect("parses");
        assert_eq!(t.placeholders(), vec!["question", "hint"]);
        assert_eq!(render(&t), "QUESTION\n{x} HINTQUESTION");
        assert_eq!(render(&Template::parse("plain").expect("parses")), "plain");
    }

    #[test]
    fn malformed_templates_are_rejected() {
        for bad in ["{question", "question}", "{}", "{ }", "a {b{c}}", "{ question }"] {
            assert!(Template::parse(bad).is_err(), "{bad:?}");
        }
    }
}
