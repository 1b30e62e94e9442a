//! Reading a task's roles out of a data-set [`Row`]: cells by `column.field` path, scalar values
//! as Python's `str()` renders them, options (lists, Python list literals, options embedded in
//! the question), answers as references, and images.
//!
//! Every error is a message naming the column, for [`TaskError::Sample`](crate::TaskError).

use smolbench_datasets::{Cell, Row};

use crate::columnsdef::AnswerFormat;
use crate::pyliteral::parse_py_str_list;

static NULL: Cell = Cell::Null;

/// The cell at `path` (`column` or `column.field...`); a field of a null struct is null.
pub(crate) fn lookup<'a>(row: &'a Row, path: &str, role: &str) -> Result<&'a Cell, String> {
    let mut parts = path.split('.');
    let column = parts.next().unwrap_or(path);
    let mut cell = row.get(column).ok_or_else(|| format!("{role} column `{column}` is missing from the row"))?;
    for field in parts {
        cell = match cell {
            Cell::Null => &NULL,
            Cell::Struct(fields) => {
                fields.get(field).ok_or_else(|| format!("{role} column `{path}`: the struct has no field `{field}`"))?
            }
            other => return Err(format!("{role} column `{path}`: `{column}` holds {}, not a struct", kind(other))),
        };
    }
    Ok(cell)
}

/// A scalar as Python's `str()` renders it; `None` for null; an error for lists, structs, images.
pub(crate) fn scalar_text(cell: &Cell, role: &str, path: &str) -> Result<Option<String>, String> {
    Ok(Some(match cell {
        Cell::Null => return Ok(None),
        Cell::Text(s) => s.clone(),
        Cell::Int(i) => i.to_string(),
        Cell::Float(f) => py_float_repr(*f),
        Cell::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        other => return Err(format!("{role} column `{path}` holds {}, not text", kind(other))),
    }))
}

/// The text at `path`, with null as `None`.
pub(crate) fn text_at(row: &Row, path: &str, role: &str) -> Result<Option<String>, String> {
    scalar_text(lookup(row, path, role)?, role, path)
}

/// Python's `repr(float)`: the shortest round-trip digits, exponent form outside `1e-4..1e16`.
pub(crate) fn py_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // `{:e}` gives the shortest round-trip digits: "-1.2345e-5".
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = mantissa.strip_prefix('-').map_or(("", mantissa), |m| ("-", m));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1;
        let body = if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        };
        format!("{sign}{body}")
    } else {
        let exp_sign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exp.abs())
    }
}

/// The options in a cell: a list of strings, a Python list literal, or null (no options).
pub(crate) fn choices_from_cell(cell: &Cell, path: &str) -> Result<Vec<String>, String> {
    match cell {
        Cell::Null => Ok(Vec::new()),
        Cell::List(items) => items
            .iter()
            .map(|item| {
                scalar_text(item, "choices", path)?.ok_or_else(|| format!("choices column `{path}` has a null option"))
            })
            .collect(),
        Cell::Text(text) => parse_py_str_list(text)
            .map_err(|e| format!("choices column `{path}` is not a Python list of strings ({e}): {text:?}")),
        other => Err(format!("choices column `{path}` holds {}, not a list of text", kind(other))),
    }
}

/// Splits `question` at the last `marker` into the stem and the options written after it as
/// `A: ..., B: ..., ...` (MMStar). Each option is stripped.
pub(crate) fn split_embedded_choices(question: &str, marker: &str) -> Result<(String, Vec<String>), String> {
    let (stem, listed) = question
        .rsplit_once(marker)
        .ok_or_else(|| format!("the question has no embedded options (no {marker:?} in {question:?})"))?;
    let mut rest = listed
        .strip_prefix("A: ")
        .ok_or_else(|| format!("the embedded options do not start with `A: `: {listed:?}"))?;
    let mut options = Vec::new();
    for next in 1..26u8 {
        let delimiter = format!(", {}: ", char::from(b'A' + next));
        match rest.find(&delimiter) {
            Some(at) => {
                options.push(crate::pycompat::py_strip(&rest[..at]).to_string());
                rest = &rest[at + delimiter.len()..];
            }
            None => break,
        }
    }
    options.push(crate::pycompat::py_strip(rest).to_string());
    Ok((stem.to_string(), options))
}

/// `A` for 0, `B` for 1, ...
pub(crate) fn letter(index: usize) -> Result<char, String> {
    u8::try_from(index)
        .ok()
        .filter(|i| *i < 26)
        .map(|i| char::from(b'A' + i))
        .ok_or_else(|| format!("option index {index} has no letter"))
}

/// The references in the answers cell, in `format`; `n_choices` bounds letters and indices.
pub(crate) fn references(
    cell: &Cell,
    path: &str,
    format: AnswerFormat,
    n_choices: usize,
) -> Result<Vec<String>, String> {
    let answers = match cell {
        Cell::Null => return Ok(Vec::new()),
        Cell::List(items) => items
            .iter()
            .map(|item| {
                scalar_text(item, "answers", path)?.ok_or_else(|| format!("answers column `{path}` has a null answer"))
            })
            .collect::<Result<Vec<_>, _>>()?,
        other => vec![scalar_text(other, "answers", path)?.unwrap_or_default()],
    };
    let in_range = |index: usize, shown: &str| {
        if n_choices > 0 && index >= n_choices {
            Err(format!("answer `{shown}` in `{path}` is out of range for {n_choices} options"))
        } else {
            Ok(())
        }
    };
    match format {
        // The task maps option texts to letters, since that needs the options.
        AnswerFormat::Text | AnswerFormat::ChoiceText => Ok(answers),
        AnswerFormat::TextOrList => Ok(answers
            .into_iter()
            .flat_map(|a| match parse_py_str_list(&a) {
                Ok(items) if !items.is_empty() => items,
                _ => vec![a],
            })
            .collect()),
        AnswerFormat::Letter => answers
            .into_iter()
            .map(|a| {
                let mut chars = a.chars();
                match (chars.next(), chars.next()) {
                    (Some(c @ 'A'..='Z'), None) => in_range(c as usize - 'A' as usize, &a).map(|_| a),
                    _ => Err(format!("answer {a:?} in `{path}` is not an option letter")),
                }
            })
            .collect(),
        AnswerFormat::Index => answers
            .into_iter()
            .map(|a| {
                let index: usize =
                    a.trim().parse().map_err(|_| format!("answer {a:?} in `{path}` is not an option index"))?;
                in_range(index, &a)?;
                letter(index).map(String::from)
            })
            .collect(),
    }
}

/// An image cell's bytes; `None` for null.
pub(crate) fn image_bytes(cell: &Cell, name: &str) -> Result<Option<Vec<u8>>, String> {
    match cell {
        Cell::Null => Ok(None),
        Cell::Image(img) if !img.bytes.is_empty() => Ok(Some(img.bytes.clone())),
        Cell::Image(img) => {
            Err(format!("image column `{name}` has no bytes (path {:?}); only embedded images are supported", img.path))
        }
        Cell::Bytes(bytes) if !bytes.is_empty() => Ok(Some(bytes.clone())),
        Cell::Bytes(_) => Err(format!("image column `{name}` is empty")),
        other => Err(format!("image column `{name}` holds {}, not an image", kind(other))),
    }
}

/// The distinct `N` of every `<image N>` in `texts`, sorted (lmms-eval `mmmu_doc_to_visual`).
pub(crate) fn referenced_images<'a>(texts: impl IntoIterator<Item = &'a str>) -> Vec<usize> {
    let mut found = Vec::new();
    for text in texts {
        let mut rest = text;
        while let Some(at) = rest.find("<image ") {
            rest = &rest[at + "<image ".len()..];
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if !digits.is_empty() && rest[digits.len()..].starts_with('>') {
                if let Ok(n) = digits.parse::<usize>() {
                    found.push(n);
                }
            }
        }
    }
    found.sort_unstable();
    found.dedup();
    found
}

/// A short description of a cell's type, for error messages.
pub(crate) fn kind(cell: &Cell) -> &'static str {
    match cell {
        Cell::Null => "null",
        Cell::Bool(_) => "a boolean",
        Cell::Int(_) => "an integer",
        Cell::Float(_) => "a float",
        Cell::Text(_) => "text",
        Cell::Bytes(_) => "bytes",
        Cell::List(_) => "a list",
        Cell::Image(_) => "an image",
        Cell::Struct(_) => "a struct",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_render_as_python_does() {
        for (x, want) in [
            (1.0, "1.0"),
            (2.5, "2.5"),
            (0.1, "0.1"),
            (-3.0, "-3.0"),
            (1e16, "1e+16"),
            (1.5e-5, "1.5e-05"),
            (0.0001, "0.0001"),
            (123456.789, "123456.789"),
            (1e15, "1000000000000000.0"),
        ] {
            assert_eq!(py_float_repr(x), want, "{x}");
        }
    }

    #[test]
    fn embedded_options_split() {
        let q = "Which is red?\nOptions: A: a cat, B: a dog, and more, C: a red box, D: none";
        let (stem, options) = split_embedded_choices(q, "\nOptions: ").expect("splits");
        assert_eq!(stem, "Which is red?");
        assert_eq!(options, vec!["a cat", "a dog, and more", "a red box", "none"]);
        assert!(split_embedded_choices("no options", "\nOptions: ").is_err());
    }

    #[test]
    fn answers_in_each_format() {
        let two = Cell::List(vec![Cell::Text("x".into()), Cell::Text("y".into())]);
        assert_eq!(references(&two, "a", AnswerFormat::Text, 0).unwrap(), vec!["x", "y"]);
        assert_eq!(references(&Cell::Int(2), "a", AnswerFormat::Index, 4).unwrap(), vec!["C"]);
        assert_eq!(references(&Cell::Text("0".into()), "a", AnswerFormat::Index, 4).unwrap(), vec!["A"]);
        assert!(references(&Cell::Int(4), "a", AnswerFormat::Index, 4).is_err());
        assert_eq!(references(&Cell::Text("D".into()), "a", AnswerFormat::Letter, 4).unwrap(), vec!["D"]);
        assert!(references(&Cell::Text("E".into()), "a", AnswerFormat::Letter, 4).is_err());
        assert!(references(&Cell::Text("b".into()), "a", AnswerFormat::Letter, 4).is_err());
        assert!(references(&Cell::Null, "a", AnswerFormat::Letter, 4).unwrap().is_empty());
        let list = Cell::Text("['$MgS$', 'MgS']".into());
        assert_eq!(references(&list, "a", AnswerFormat::TextOrList, 0).unwrap(), vec!["$MgS$", "MgS"]);
        let interval = Cell::Text("[0, 1]".into());
        assert_eq!(references(&interval, "a", AnswerFormat::TextOrList, 0).unwrap(), vec!["[0, 1]"]);
    }

    #[test]
    fn image_references_are_distinct_and_sorted() {
        let found = referenced_images(["<image 2> and <image 1>", "<image 2>", "<image x> <image 3"]);
        assert_eq!(found, vec![1, 2]);
    }
}
