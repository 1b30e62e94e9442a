//! "Did you mean" suggestions for mistyped names.

/// The known name nearest to `name` (case-insensitive edit distance, a swap of neighbours counting
/// as one edit), if it is close enough to be a plausible typo: at most one edit per three
/// characters, and at least one allowed.
pub fn did_you_mean<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wanted: Vec<char> = name.to_lowercase().chars().collect();
    let budget = (wanted.len() / 3).max(1);
    known
        .into_iter()
        .map(|candidate| {
            let chars: Vec<char> = candidate.to_lowercase().chars().collect();
            (edit_distance(&wanted, &chars), candidate)
        })
        .filter(|(distance, _)| *distance <= budget)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps.
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let width = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        for j in 0..=b.len() {
            d[i * width + j] = if i == 0 || j == 0 {
                i + j
            } else {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                let mut best =
                    (d[(i - 1) * width + j] + 1).min(d[i * width + j - 1] + 1).min(d[(i - 1) * width + j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    best = best.min(d[(i - 2) * width + j - 2] + 1);
                }
                best
            };
        }
    }
    d[a.len() * width + b.len()]
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_close_names_only() {
        let known = ["docvqa", "textvqa", "chartqa"];
        assert_eq!(did_you_mean("docvq", known), Some("docvqa"));
        assert_eq!(did_you_mean("DocVQA", known), Some("docvqa"));
        assert_eq!(did_you_mean("dcovqa", known), Some("docvqa"));
        assert_eq!(did_you_mean("chartq", known), Some("chartqa"));
        assert_eq!(did_you_mean("mmmu", known), None);
        assert_eq!(did_you_mean("", known), None);
        assert_eq!(did_you_mean("imgae", ["image", "video"]), Some("image"));
    }
}
