//! HTML building blocks for the report: escaping, the page shell with its inline style sheet,
//! and number formatting. Every page is self-contained: no script or style from elsewhere, no
//! network.

use std::fmt::Write as _;

/// Escapes text for HTML element content and quoted attribute values (the one escaping path
/// of HTML and XML, shared with the gate's JUnit output).
pub use smolbench_core::markup::escape;

/// A score in [0, 1] as percent with two decimals, as the tables and `bench run` show it.
pub fn pct(score: f64) -> String {
    format!("{:.2}", score * 100.0)
}

/// An optional number with `digits` decimals, or an en dash.
pub fn num(value: Option<f64>, digits: usize) -> String {
    value.map(|v| format!("{v:.digits$}")).unwrap_or_else(|| "–".into())
}

/// Bytes in binary units (MiB, GiB).
pub fn bytes(value: Option<u64>) -> String {
    let Some(b) = value else { return "–".into() };
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < units.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", units[u])
}

const STYLE: &str = r#"
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 0; color: #1d1d1f; background: #fafafa; }
header { background: #1f3b57; color: #fff; padding: 12px 24px; }
header h1 { margin: 0; font-size: 20px; }
nav a { color: #cfe3f7; margin-right: 18px; text-decoration: none; font-size: 14px; }
nav a:hover { text-decoration: underline; }
main { padding: 16px 24px 48px; max-width: 1500px; }
h2 { margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
table { border-collapse: collapse; margin: 8px 0 16px; background: #fff; font-size: 14px; }
th, td { border: 1px solid #d8d8d8; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef2f6; position: sticky; top: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.group th { background: #dde7f0; text-align: left; }
.ci { color: #666; font-size: 12px; }
.pub { font-size: 12px; color: #333; min-width: 260px; margin-bottom: 2px; }
.pub .lbl { color: #777; }
.tag { display: inline-block; font-size: 11px; padding: 0 4px; border-radius: 3px; background: #eee; color: #555; }
.tag.UNVERIFIED, .tag.suspect { background: #fde2e1; color: #9b1c1c; }
.note { color: #555; font-size: 13px; max-width: 1100px; }
.warn { background: #fff4d6; border: 1px solid #e8c96a; padding: 6px 10px; font-size: 13px; max-width: 1100px; }
img.chart { border: 1px solid #ddd; background: #fff; max-width: 100%; margin: 6px 12px 12px 0; }
img.thumb { max-width: 160px; max-height: 160px; border: 1px solid #ccc; }
pre { white-space: pre-wrap; word-break: break-word; margin: 0; font-size: 12px; max-width: 420px; }
ol.trace { margin: 0; padding-left: 18px; font-size: 12px; }
table.samples td { max-width: 380px; overflow-wrap: anywhere; }
table.samples pre { min-width: 220px; }
table.samples td.num { white-space: nowrap; overflow-wrap: normal; }
table.samples code { white-space: pre-wrap; word-break: break-all; }
tr.fail td.score { color: #b42318; font-weight: 600; }
tr.pass td.score { color: #067647; font-weight: 600; }
tr.error { background: #fff1f0; }
#only-failures:checked ~ table tbody tr.pass { display: none; }
#answer { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
#answer .answer-chart { flex: 0 0 auto; }
#answer .answer-table { flex: 1 1 560px; min-width: 0; }
#answer .answer-table .note { margin-top: 0; }
figure { margin: 0 0 12px; }
figure.headline img.chart { margin: 0; }
figcaption { font-size: 12px; color: #555; max-width: 700px; }
figcaption div { margin-top: 3px; }
figcaption .left-out { color: #8a4b00; }
#overview td, #overview th { font-size: 12px; padding: 3px 6px; }
#overview td.pub { min-width: 220px; }
#overview td.score, #overview td.diff { white-space: nowrap; }
.setting { font-size: 12px; margin-top: 2px; }
.setting.same { color: #067647; }
.setting.different { color: #9b1c1c; }
ul.fields { margin: 2px 0; padding-left: 16px; font-size: 12px; }
ul.fields li.differs { color: #9b1c1c; }
ul.fields li.unknown { color: #8a4b00; }
details summary { font-size: 11px; color: #1f3b57; cursor: pointer; }
ul.about { font-size: 13px; color: #333; max-width: 1300px; padding-left: 18px; }
label.filter { font-size: 14px; background: #eef2f6; padding: 4px 10px; border-radius: 4px; cursor: pointer; }
"#;

/// A whole page: `title`, the navigation (`root` is the relative path to the site's root, `""`
/// or `"../"`), and `body`.
pub fn page(title: &str, root: &str, body: &str) -> String {
    format!("{}{body}{PAGE_END}", page_start(title, root))
}

/// The start of a page, up to and including `<main>`, for pages written piece by piece; end them
/// with [`PAGE_END`].
pub fn page_start(title: &str, root: &str) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header><h1>{}</h1><nav>",
        escape(title),
        escape(title)
    );
    for (href, name) in [
        ("index.html", "Overview"),
        ("latency.html", "Latency"),
        ("tasks.html", "Per-task breakdowns"),
        ("baselines.html", "Published baselines"),
    ] {
        let _ = write!(out, "<a href=\"{root}{href}\">{name}</a>");
    }
    out.push_str("</nav></header>\n<main>\n");
    out
}

/// The end of a page begun with [`page_start`].
pub const PAGE_END: &str = "\n</main>\n</body>\n</html>\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape("<img src=x onerror=\"a('b')\"> & co"),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt; &amp; co"
        );
        assert_eq!(pct(0.123456), "12.35");
        assert_eq!(num(None, 1), "–");
        assert_eq!(bytes(Some(3 << 20)), "3.0 MiB");
    }

    #[test]
    fn pages_load_nothing_from_elsewhere() {
        let html = page("T <x>", "../", "<p>b</p>");
        assert!(html.contains("<title>T &lt;x&gt;</title>"));
        assert!(html.contains("href=\"../latency.html\""));
        for remote in ["http://", "https://", "<script src", "<link"] {
            assert!(!html.contains(remote), "{remote}");
        }
    }
}
