//! The exit codes of `bench`, in one place: scripts and CI read them.

use std::process::ExitCode;

/// Everything asked was done (for `bench gate`: no regression).
pub const OK: u8 = 0;
/// An error (one `error:` line on stderr) or, for `bench gate`, a regression.
pub const FAILURE: u8 = 1;
/// `bench gate`: a regression was found.
pub const REGRESSION: u8 = 1;
/// `bench gate`: the input cannot be compared (missing or unusable runs).
pub const UNUSABLE_INPUT: u8 = 2;
/// Interrupted by Ctrl-C (SIGINT), as shells report it: 128 + 2.
pub const INTERRUPTED: u8 = 130;

/// `code` as an [`ExitCode`].
pub fn code(code: u8) -> ExitCode {
    ExitCode::from(code)
}
