//! The Prometheus text exposition format (version 0.0.4), as much of it as `/metrics` needs:
//! counters and gauges with labels, each family with its `# HELP` and `# TYPE` lines.

use std::fmt::Write as _;

/// The `Content-Type` of the format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A metrics page being written.
#[derive(Debug, Default)]
pub struct Page {
    text: String,
}

/// A label value with `\`, `"` and newlines escaped.
fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{value:.0}")
    } else {
        format!("{value}")
    }
}

impl Page {
    /// An empty page.
    pub fn new() -> Self {
        Page::default()
    }

    /// The `# HELP` and `# TYPE` lines of a family (`counter` or `gauge`); its samples follow.
    pub fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {}", help.replace('\\', "\\\\").replace('\n', "\\n"));
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    /// One sample of the family just begun.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        if labels.is_empty() {
            let _ = writeln!(self.text, "{name} {}", number(value));
        } else {
            let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape_label(v))).collect();
            let _ = writeln!(self.text, "{name}{{{}}} {}", labels.join(","), number(value));
        }
    }

    /// A family with one unlabelled sample.
    pub fn single(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// The page's text.
    pub fn finish(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_written_in_the_text_format() {
        let mut page = Page::new();
        page.single("up", "gauge", "Whether it is up.", 1.0);
        page.family("requests_total", "counter", "Requests by outcome.");
        page.sample("requests_total", &[("outcome", "ok")], 3.0);
        page.sample("requests_total", &[("outcome", "a\"b\\c")], 0.5);
        assert_eq!(
            page.finish(),
            "# HELP up Whether it is up.\n# TYPE up gauge\nup 1\n\
             # HELP requests_total Requests by outcome.\n# TYPE requests_total counter\n\
             requests_total{outcome=\"ok\"} 3\nrequests_total{outcome=\"a\\\"b\\\\c\"} 0.5\n"
        );
    }
}
