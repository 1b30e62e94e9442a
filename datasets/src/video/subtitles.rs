//! SubRip subtitles (`.srt`) and the Video-MME rule for picking the lines a prompt shows.
//!
//! lmms-eval's `videomme_doc_to_text_subtitle` (read in its `tasks/videomme/utils.py`) samples
//! `frame_num` (32) frame indices with `np.linspace(0, total - 1, frame_num, dtype=int)`, turns
//! every subtitle entry into a frame range `[int(start * fps), int(end * fps))`, keeps each entry
//! whose range holds a sampled frame (once, in file order), takes the text inside
//! `<font color="white" size=".72c">...</font>` and joins the texts with `\n`. Without a subtitle
//! file the text is `No subtitles available`.

use std::path::Path;

use super::error::VideoError;

/// What Video-MME's prompt shows when a video has no subtitle file.
pub const NO_SUBTITLES: &str = "No subtitles available";

/// One subtitle entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Subtitle {
    /// Start, in seconds.
    pub start_s: f64,
    /// End, in seconds.
    pub end_s: f64,
    /// The text lines, joined by `\n`.
    pub text: String,
}

/// `HH:MM:SS,mmm` in seconds.
fn parse_time(s: &str) -> Option<f64> {
    let s = s.trim().replace(',', ".");
    let mut parts = s.split(':');
    let (h, m, sec) = (parts.next()?, parts.next()?, parts.next()?);
    Some(h.parse::<f64>().ok()? * 3600.0 + m.parse::<f64>().ok()? * 60.0 + sec.parse::<f64>().ok()?)
}

/// Parses SubRip text; blocks without a valid time line are skipped.
pub fn parse_srt(text: &str) -> Vec<Subtitle> {
    let text = text.trim_start_matches('\u{feff}').replace("\r\n", "\n");
    let mut out = Vec::new();
    for block in text.split("\n\n") {
        let lines: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
        let Some(time_at) = lines.iter().position(|l| l.contains("-->")) else { continue };
        let Some((a, b)) = lines[time_at].split_once("-->") else { continue };
        let (Some(start_s), Some(end_s)) = (parse_time(a), parse_time(b.split_whitespace().next().unwrap_or("")))
        else {
            continue;
        };
        out.push(Subtitle { start_s, end_s, text: lines[time_at + 1..].join("\n") });
    }
    out
}

/// The text inside `<font color="white" size=".72c">...</font>`, as lmms-eval's regex finds it
/// (the first match; `None` when absent).
fn white_font_text(text: &str) -> Option<&str> {
    const OPEN: &str = "<font color=\"white\" size=\".72c\">";
    let start = text.find(OPEN)? + OPEN.len();
    let len = text[start..].find("</font>")?;
    Some(&text[start..start + len])
}

/// The subtitle text Video-MME's prompt shows for a video of `total_frames` frames at `fps`
/// with subtitles in `srt` (none: [`NO_SUBTITLES`]), sampling `frame_num` frames.
pub fn videomme_subtitle_text(
    srt: Option<&Path>,
    total_frames: usize,
    fps: f64,
    frame_num: usize,
) -> Result<String, VideoError> {
    let Some(path) = srt.filter(|p| p.is_file()) else {
        return Ok(NO_SUBTITLES.to_string());
    };
    let bytes = std::fs::read(path).map_err(|e| VideoError::io(path, e))?;
    let entries = parse_srt(&String::from_utf8_lossy(&bytes));
    let sampled: Vec<usize> = if total_frames == 0 || frame_num == 0 {
        Vec::new()
    } else if frame_num == 1 {
        vec![0]
    } else {
        let step = (total_frames - 1) as f64 / (frame_num - 1) as f64;
        (0..frame_num).map(|i| if i == frame_num - 1 { total_frames - 1 } else { (i as f64 * step) as usize }).collect()
    };
    let mut texts = Vec::new();
    for entry in &entries {
        let (start, end) = ((entry.start_s * fps) as usize, (entry.end_s * fps) as usize);
        if sampled.iter().any(|&f| start <= f && f < end) {
            // lmms-eval appends the regex's first group; an entry without the font tag adds nothing.
            if let Some(text) = white_font_text(&entry.text) {
                texts.push(text.to_string());
            }
        }
    }
    Ok(texts.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRT: &str = "1\n00:00:00,000 --> 00:00:01,500\n<font color=\"white\" size=\".72c\">hello there</font>\n\n2\r\n00:00:02,000 --> 00:00:03,000\r\n<font color=\"white\" size=\".72c\">second line</font>\r\n\r\n3\n00:00:09,000 --> 00:00:09,100\n<font color=\"white\" size=\".72c\">missed</font>\n";

    #[test]
    fn srt_blocks_parse_with_either_line_ending() {
        let subs = parse_srt(SRT);
        assert_eq!(subs.len(), 3);
        assert_eq!((subs[1].start_s, subs[1].end_s), (2.0, 3.0));
        assert_eq!(white_font_text(&subs[0].text), Some("hello there"));
    }

    #[test]
    fn only_entries_covering_a_sampled_frame_are_kept() {
        let dir = std::env::temp_dir().join(format!("smolbench-srt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("v.srt");
        std::fs::write(&path, SRT).unwrap();
        // 10 s at 10 fps, 4 frames: linspace(0, 99, 4) = 0, 33, 66, 99; entry 3 covers 90..91 only.
        let text = videomme_subtitle_text(Some(&path), 100, 10.0, 4).unwrap();
        assert_eq!(text, "hello there");
        // 32 frames: 0, 3, 6, ... include frame 21 (2.1 s) in entry 2.
        let text = videomme_subtitle_text(Some(&path), 100, 10.0, 32).unwrap();
        assert_eq!(text, "hello there\nsecond line");
        assert_eq!(videomme_subtitle_text(Some(&dir.join("none.srt")), 100, 10.0, 32).unwrap(), NO_SUBTITLES);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
