//! The first worksheet of an `.xlsx` file as rows of text: what reading VLMEvalKit's prediction
//! files needs (pandas writes them through openpyxl: inline strings and numbers; a file saved by
//! Excel keeps its strings in `sharedStrings.xml`, also read).
//!
//! An `.xlsx` file is a zip archive of XML parts. The archive is read with `zip` (entries
//! inflated with `flate2`, both already built for the data sets), the XML with a small scanner
//! of the few elements a sheet's cells use. (A spreadsheet crate such as `calamine` would pull in
//! a second `zip` whose `zeroize` features rebuild the TLS stack and mistral.rs.)

use std::io::Read;
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Reads entry `name` of the archive, or `None` where it has none.
fn entry(zip: &mut zip::ZipArchive<std::fs::File>, name: &str) -> Result<Option<String>> {
    let Some(index) = zip.index_for_name(name) else { return Ok(None) };
    // Raw: this build's zip inflates nothing itself (see datasets/src/archive.rs).
    let file = zip.by_index_raw(index)?;
    let mut text = String::new();
    let method = file.compression();
    if method == zip::CompressionMethod::Stored {
        let mut file = file;
        file.read_to_string(&mut text)?;
    } else if method == zip::CompressionMethod::DEFLATE {
        flate2::read::DeflateDecoder::new(file).read_to_string(&mut text)?;
    } else {
        bail!("entry {name} uses compression {method:?}; only stored and deflated are read");
    }
    Ok(Some(text))
}

/// The rows of the first worksheet (`xl/worksheets/sheet1.xml`, else the first sheet part), each
/// as wide as its last non-empty cell.
pub fn read_first_sheet(path: &Path) -> Result<Vec<Vec<String>>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut zip = zip::ZipArchive::new(file)
        .with_context(|| format!("{}: not an .xlsx file (not a zip archive)", path.display()))?;
    let shared = match entry(&mut zip, "xl/sharedStrings.xml")? {
        Some(xml) => elements(&xml, "si").into_iter().map(text_runs).collect(),
        None => Vec::new(),
    };
    let mut sheets: Vec<String> = zip
        .file_names()
        .filter(|n| n.starts_with("xl/worksheets/") && n.ends_with(".xml"))
        .map(str::to_string)
        .collect();
    sheets.sort_by_key(|n| (n != "xl/worksheets/sheet1.xml", n.clone()));
    let Some(sheet) = sheets.first() else { bail!("{}: the workbook has no worksheet", path.display()) };
    let xml = entry(&mut zip, sheet)?.unwrap_or_default();
    let mut rows: Vec<Vec<String>> = Vec::new();
    for cell in cells(&xml) {
        let (col, row) = cell_position(&cell.reference)
            .with_context(|| format!("{}: a cell has no usable reference `{}`", path.display(), cell.reference))?;
        let value = match cell.kind.as_str() {
            "s" => {
                let i: usize = cell
                    .value
                    .trim()
                    .parse()
                    .with_context(|| format!("{}: a bad shared string index", path.display()))?;
                shared.get(i).cloned().unwrap_or_default()
            }
            "inlineStr" | "str" | "e" => cell.value,
            "b" => if cell.value.trim() == "1" { "True" } else { "False" }.to_string(),
            _ => number_text(&cell.value),
        };
        if rows.len() <= row {
            rows.resize(row + 1, Vec::new());
        }
        let r = &mut rows[row];
        if r.len() <= col {
            r.resize(col + 1, String::new());
        }
        r[col] = value;
    }
    Ok(rows)
}

/// A number as pandas prints a whole float: `3.0` as `3`.
fn number_text(text: &str) -> String {
    match text.trim().parse::<f64>() {
        Ok(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        _ => text.trim().to_string(),
    }
}

/// `B12` as (column 1, row 11), both from 0.
fn cell_position(reference: &str) -> Option<(usize, usize)> {
    let letters: String = reference.chars().take_while(char::is_ascii_alphabetic).collect();
    let row: usize = reference[letters.len()..].parse().ok()?;
    let col = letters
        .chars()
        .try_fold(0usize, |acc, c| Some(acc * 26 + (c.to_ascii_uppercase() as usize - 'A' as usize + 1)))?;
    (col >= 1 && row >= 1).then(|| (col - 1, row - 1))
}

struct Cell {
    reference: String,
    kind: String,
    value: String,
}

/// Every `<c>` of a sheet: its `r` and `t` attributes, and its value (`<v>`, or the text runs of
/// an inline string).
fn cells(xml: &str) -> Vec<Cell> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some((attrs, inner, after)) = next_element(rest, "c") {
        rest = after;
        let value = match attribute(attrs, "t").as_deref() {
            Some("inlineStr") => text_runs(inner),
            _ => elements(inner, "v").first().map(|v| unescape(v)).unwrap_or_default(),
        };
        out.push(Cell {
            reference: attribute(attrs, "r").unwrap_or_default(),
            kind: attribute(attrs, "t").unwrap_or_default(),
            value,
        });
    }
    out
}

/// The contents of every `<name>` element (empty for `<name/>`).
fn elements<'a>(xml: &'a str, name: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some((_, inner, after)) = next_element(rest, name) {
        out.push(inner);
        rest = after;
    }
    out
}

/// The concatenated `<t>` text of a string item (rich text has several runs).
fn text_runs(xml: &str) -> String {
    elements(xml, "t").into_iter().map(unescape).collect()
}

/// The next `<name ...>inner</name>` (or `<name .../>`) in `xml`: its attributes, its inner text
/// and what follows it.
fn next_element<'a>(xml: &'a str, name: &str) -> Option<(&'a str, &'a str, &'a str)> {
    let open = format!("<{name}");
    let mut from = 0;
    loop {
        let at = from + xml[from..].find(&open)?;
        let after_name = at + open.len();
        match xml[after_name..].chars().next() {
            Some(' ' | '>' | '/' | '\t' | '\n' | '\r') => {}
            _ => {
                from = after_name;
                continue;
            }
        }
        let tag_end = after_name + xml[after_name..].find('>')?;
        let attrs = &xml[after_name..tag_end];
        if attrs.ends_with('/') {
            return Some((attrs.trim_end_matches('/'), "", &xml[tag_end + 1..]));
        }
        let close = format!("</{name}>");
        let inner_end = tag_end + 1 + xml[tag_end + 1..].find(&close)?;
        return Some((attrs, &xml[tag_end + 1..inner_end], &xml[inner_end + close.len()..]));
    }
}

/// The value of attribute `name` in a start tag's attribute text.
fn attribute(attrs: &str, name: &str) -> Option<String> {
    let key = format!(" {name}=\"");
    let start = format!(" {attrs}").find(&key)? + key.len() - 1;
    let value = &attrs[start..];
    Some(unescape(&value[..value.find('"')?]))
}

/// XML's five named entities and numeric character references.
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let Some(end) = rest[at..].find(';') else { break };
        let entity = &rest[at + 1..at + end];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => out.push(c),
            None => out.push_str(&rest[at..=at + end]),
        }
        rest = &rest[at + end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_of_both_string_kinds_and_numbers_are_read() {
        let xml = r#"<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>index</t></is></c><c r="C1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="n"><v>3.0</v></c><c r="B2"/><c r="C2" t="inlineStr"><is><r><t>a &amp; </t></r><r><t xml:space="preserve">b</t></r></is></c></row></sheetData>"#;
        let cells = cells(xml);
        assert_eq!(cells.len(), 5);
        assert_eq!(cells[0].value, "index");
        assert_eq!((cells[1].kind.as_str(), cells[1].value.as_str()), ("s", "0"));
        assert_eq!(number_text(&cells[2].value), "3");
        assert_eq!(cells[3].value, "");
        assert_eq!(cells[4].value, "a & b");
        assert_eq!(cell_position("B12"), Some((1, 11)));
        assert_eq!(cell_position("AA1"), Some((26, 0)));
        assert_eq!(unescape("&lt;x&gt; &#65;&#x42;"), "<x> AB");
    }
}
