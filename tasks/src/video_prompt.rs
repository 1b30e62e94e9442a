//! Video prompts: the text that carries a video's frames, one `<image>` marker per frame, as
//! SmolVLM2's processor writes it ([`smolvlm2_video_block`]) and as VLMEvalKit's SmolVLM2
//! wrapper writes it ([`vlmevalkit_smolvlm2_frames`], [`VLMEVALKIT_SMOLVLM2_SYSTEM`]).
//!
//! transformers' `SmolVLMProcessor.process_video` (`models/smolvlm/processing_smolvlm.py`, read
//! there) replaces the chat template's `<video>` with
//!
//! ```text
//! You are provided the following series of {num2words(N)} frames from a {H:MM:SS} [H:MM:SS] video.\n
//! \nFrame from {MM:SS}:<image>      (once per frame)
//! \n\n
//! ```
//!
//! where the duration is `str(timedelta(seconds=int(duration)))` and each frame's time is
//! `int(t // 60)` and `int(t % 60)`, both zero-padded to two digits. The user turn is then this
//! block followed by the question text. mistral.rs has no video input for this architecture, so
//! the frames go in as images at the `<image>` markers (`mistralrs-0.8.1.md` §2.6).

/// The image marker the engine expands (one per frame).
pub const IMAGE_MARKER: &str = "<image>";

/// The system turn VLMEvalKit's `SmolVLM2.build_prompt_video` sends when the data set's message
/// has no system part (`vlmeval/vlm/smolvlm.py`).
pub const VLMEVALKIT_SMOLVLM2_SYSTEM: &str = "pay attention to the video and answer the question";

/// The frames part of the user turn VLMEvalKit's `SmolVLM2.build_prompt_video` writes for
/// `n_frames` frames, up to and including the space before the text parts.
///
/// The wrapper builds a list of parts, `Here are some frames sampled from a video:\n`, then
/// `Frame from {i // 60:02}:{i % 60:02}:` and `<image>` for frame `i` (its ordinal in the message:
/// the label counts frames, not seconds), then `\n`, then each text part stripped, and joins the
/// list with single spaces. The text parts and the space before `<end_of_utterance>` follow this
/// block (the task's template and [`Task::build_sample`](crate::Task::build_sample)).
pub fn vlmevalkit_smolvlm2_frames(n_frames: usize) -> String {
    let mut out = String::from("Here are some frames sampled from a video:\n");
    for i in 0..n_frames {
        out.push_str(&format!(" Frame from {:02}:{:02}: {IMAGE_MARKER}", i / 60, i % 60));
    }
    out.push_str(" \n ");
    out
}

/// The video block for frames at `timestamps_s` (seconds) of a video of `duration_s` seconds.
pub fn smolvlm2_video_block(duration_s: f64, timestamps_s: &[f64]) -> String {
    let mut out = format!(
        "You are provided the following series of {} frames from a {} [H:MM:SS] video.\n",
        num2words(timestamps_s.len() as u64),
        python_timedelta(duration_s.max(0.0) as u64)
    );
    for &t in timestamps_s {
        let t = t.max(0.0);
        let minutes = (t / 60.0).floor() as u64;
        let seconds = (t % 60.0).floor() as u64;
        out.push_str(&format!("\nFrame from {minutes:02}:{seconds:02}:{IMAGE_MARKER}"));
    }
    out.push_str("\n\n");
    out
}

/// Python's `str(timedelta(seconds=s))` for whole seconds: `H:MM:SS`, `D day(s), H:MM:SS`.
pub fn python_timedelta(seconds: u64) -> String {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let hms = format!("{}:{:02}:{:02}", rest / 3600, (rest % 3600) / 60, rest % 60);
    match days {
        0 => hms,
        1 => format!("1 day, {hms}"),
        d => format!("{d} days, {hms}"),
    }
}

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"];

/// English cardinal words as the `num2words` package writes them (`lang="en"`): `twenty-one`,
/// `one hundred and five`, `two thousand, three hundred and one`.
pub fn num2words(n: u64) -> String {
    if n < 20 {
        return ONES[n as usize].to_string();
    }
    if n < 100 {
        let (t, o) = (n / 10, n % 10);
        return if o == 0 {
            TENS[t as usize].to_string()
        } else {
            format!("{}-{}", TENS[t as usize], ONES[o as usize])
        };
    }
    if n < 1000 {
        let (h, rest) = (n / 100, n % 100);
        return if rest == 0 {
            format!("{} hundred", ONES[h as usize])
        } else {
            format!("{} hundred and {}", ONES[h as usize], num2words(rest))
        };
    }
    let (thousands, rest) = (n / 1000, n % 1000);
    let head = format!("{} thousand", num2words(thousands));
    match rest {
        0 => head,
        r if r < 100 => format!("{head} and {}", num2words(r)),
        r => format!("{head}, {}", num2words(r)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_num2words_writes_them() {
        for (n, words) in [
            (1, "one"),
            (8, "eight"),
            (13, "thirteen"),
            (20, "twenty"),
            (21, "twenty-one"),
            (64, "sixty-four"),
            (100, "one hundred"),
            (105, "one hundred and five"),
            (999, "nine hundred and ninety-nine"),
            (1000, "one thousand"),
            (1005, "one thousand and five"),
            (2301, "two thousand, three hundred and one"),
        ] {
            assert_eq!(num2words(n), words, "{n}");
        }
    }

    #[test]
    fn durations_print_as_timedelta() {
        assert_eq!(python_timedelta(0), "0:00:00");
        assert_eq!(python_timedelta(65), "0:01:05");
        assert_eq!(python_timedelta(3725), "1:02:05");
        assert_eq!(python_timedelta(90_000), "1 day, 1:00:00");
    }

    #[test]
    fn vlmevalkit_frames_are_labelled_by_ordinal_and_joined_by_spaces() {
        assert_eq!(
            vlmevalkit_smolvlm2_frames(3),
            "Here are some frames sampled from a video:\n Frame from 00:00: <image> Frame from 00:01: <image> \
             Frame from 00:02: <image> \n "
        );
        // The 62nd frame is labelled 01:01 whatever its time in the video.
        let block = vlmevalkit_smolvlm2_frames(62);
        assert!(block.ends_with(" Frame from 01:01: <image> \n "), "{block}");
        assert_eq!(block.matches(IMAGE_MARKER).count(), 62);
    }

    #[test]
    fn the_block_has_one_marker_and_timestamp_per_frame() {
        let block = smolvlm2_video_block(5.0, &[0.0, 1.0, 2.25, 3.5, 4.75]);
        assert_eq!(
            block,
            "You are provided the following series of five frames from a 0:00:05 [H:MM:SS] video.\n\
             \nFrame from 00:00:<image>\nFrame from 00:01:<image>\nFrame from 00:02:<image>\
             \nFrame from 00:03:<image>\nFrame from 00:04:<image>\n\n"
        );
        // Minutes past an hour keep counting: 3725 s is 62:05.
        let block = smolvlm2_video_block(3725.9, &[3725.5]);
        assert!(block.contains("one frames from a 1:02:05 [H:MM:SS]"), "{block}");
        assert!(block.contains("\nFrame from 62:05:<image>"), "{block}");
    }
}
