//! Claims on samples between processes that write one run directory, so two workers do not
//! compute the same sample at the same time.
//!
//! A claim is a write lock on one byte of the empty file `samples.claims`, at an offset derived
//! from the sample's key (SHA-256 of `task/index/sample_id`, 62 bits). The locks are Linux
//! open-file-description locks (`F_OFD_SETLK`): held per open file, released when the sample's
//! record is appended, and released by the kernel when a process dies, so a crashed worker never
//! leaves a sample claimed. Claims only save work: that a sample is recorded once is guaranteed
//! by the store's append ([`crate::store`]), claims or not. Elsewhere than Linux every claim
//! succeeds.

use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use smolbench_core::collate::SampleKey;

/// The claims file's name in a run directory.
pub const CLAIMS_FILE: &str = "samples.claims";

/// This process's claims in one run directory.
#[derive(Debug)]
pub struct Claims {
    file: File,
    path: PathBuf,
    held: Mutex<HashSet<SampleKey>>,
}

fn offset_of(key: &SampleKey) -> i64 {
    let digest = Sha256::new()
        .chain_update(key.task.as_bytes())
        .chain_update(b"/")
        .chain_update(key.index.to_string())
        .chain_update(b"/")
        .chain_update(key.sample_id.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    (u64::from_be_bytes(first) >> 2) as i64
}

impl Claims {
    /// Opens (creating) `dir/samples.claims`.
    pub fn open(dir: &Path) -> Result<Claims> {
        let path = dir.join(CLAIMS_FILE);
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))?;
        Ok(Claims { file, path, held: Mutex::new(HashSet::new()) })
    }

    #[cfg(target_os = "linux")]
    fn lock(&self, key: &SampleKey, kind: libc::c_short, wait: bool) -> std::io::Result<bool> {
        use std::os::fd::AsRawFd;
        // SAFETY: an all-zero `flock` is valid; l_pid must be 0 for OFD locks.
        let mut lock: libc::flock = unsafe { std::mem::zeroed() };
        lock.l_type = kind;
        lock.l_whence = libc::SEEK_SET as libc::c_short;
        lock.l_start = offset_of(key);
        lock.l_len = 1;
        let command = if wait { libc::F_OFD_SETLKW } else { libc::F_OFD_SETLK };
        loop {
            // SAFETY: fcntl on a descriptor this process holds open, with a valid flock.
            if unsafe { libc::fcntl(self.file.as_raw_fd(), command, &lock) } == 0 {
                return Ok(true);
            }
            let err = std::io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) | Some(libc::EACCES) if !wait => return Ok(false),
                _ => return Err(err),
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn lock(&self, _key: &SampleKey, _kind: i16, _wait: bool) -> std::io::Result<bool> {
        Ok(true)
    }

    fn take(&self, key: &SampleKey, wait: bool) -> bool {
        if self.held.lock().expect("claims are never poisoned").contains(key) {
            return true;
        }
        #[cfg(target_os = "linux")]
        let kind = libc::F_WRLCK as libc::c_short;
        #[cfg(not(target_os = "linux"))]
        let kind = 0;
        match self.lock(key, kind, wait) {
            Ok(true) => {
                self.held.lock().expect("claims are never poisoned").insert(key.clone());
                true
            }
            Ok(false) => false,
            Err(e) => {
                // Claims only save work; without them the store still records each sample once.
                tracing::warn!("{}: cannot claim {key} ({e}); running it unclaimed", self.path.display());
                true
            }
        }
    }

    /// Claims `key` if no other process holds it; `false` if one does.
    pub fn try_claim(&self, key: &SampleKey) -> bool {
        self.take(key, false)
    }

    /// Claims `key`, waiting while another process holds it.
    pub fn claim_waiting(&self, key: &SampleKey) -> bool {
        self.take(key, true)
    }

    /// Gives `key` back (a no-op where this process does not hold it).
    pub fn release(&self, key: &SampleKey) {
        if !self.held.lock().expect("claims are never poisoned").remove(key) {
            return;
        }
        #[cfg(target_os = "linux")]
        if let Err(e) = self.lock(key, libc::F_UNLCK as libc::c_short, false) {
            tracing::warn!("{}: cannot release {key} ({e})", self.path.display());
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_claim_excludes_other_open_files_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (Claims::open(dir.path()).unwrap(), Claims::open(dir.path()).unwrap());
        let key = SampleKey { task: "docvqa".into(), index: 3, sample_id: "57344".into() };
        let other = SampleKey { index: 4, ..key.clone() };
        assert!(a.try_claim(&key));
        assert!(a.try_claim(&key), "claiming again what one holds succeeds");
        assert!(!b.try_claim(&key), "another holder is refused");
        assert!(b.try_claim(&other), "other samples are free");
        a.release(&key);
        assert!(b.try_claim(&key));
        drop(b); // closing the file releases its claims, as a dying process does
        assert!(a.try_claim(&key) && a.try_claim(&other));
    }
}
