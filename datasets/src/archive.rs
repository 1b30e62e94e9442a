//! Unpacking the zip archives that video data sets ship their videos in (Video-MME's
//! `videos_chunked_*.zip` and `subtitle.zip`, MVBench's `video/*.zip` on its default branch),
//! the way lmms-eval unpacks them: every entry under one folder, paths kept.
//!
//! Entries are stored or deflated (what zip tools and Python's `zipfile` write); each is checked
//! against its CRC-32 and size, written to a temporary name and renamed into place, so a killed
//! unpack leaves no half-written video that a later run would read. An entry whose file is
//! already there with the right size is left alone, so unpacking again after an interruption
//! only writes what is missing. Entry names that would leave the folder (`../`, absolute paths)
//! are refused.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use zip::CompressionMethod;

use crate::error::DatasetError;

/// What [`unpack_zip`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unpacked {
    /// Files written.
    pub written: usize,
    /// Files already present with the right size.
    pub kept: usize,
}

/// Unpacks every file of the zip archive `archive` under `dest`.
pub fn unpack_zip(archive: &Path, dest: &Path) -> Result<Unpacked, DatasetError> {
    let corrupt = |reason: String| DatasetError::CorruptArchive { path: archive.to_path_buf(), reason };
    let file = File::open(archive).map_err(|e| DatasetError::io(archive, e))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| corrupt(e.to_string()))?;
    let mut done = Unpacked::default();
    for index in 0..zip.len() {
        let entry = zip.by_index_raw(index).map_err(|e| corrupt(format!("entry {index}: {e}")))?;
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_string();
        let relative = entry
            .enclosed_name()
            .ok_or_else(|| corrupt(format!("entry `{name}` would be written outside the folder")))?;
        let target = dest.join(&relative);
        let (size, crc, method) = (entry.size(), entry.crc32(), entry.compression());
        if std::fs::metadata(&target).is_ok_and(|m| m.is_file() && m.len() == size) {
            done.kept += 1;
            continue;
        }
        let reader: Box<dyn Read + '_> = if method == CompressionMethod::Stored {
            Box::new(entry)
        } else if method == CompressionMethod::DEFLATE {
            Box::new(flate2::read::DeflateDecoder::new(entry))
        } else {
            return Err(corrupt(format!(
                "entry `{name}` uses compression {method:?}; only stored and deflated are read"
            )));
        };
        write_entry(reader, &target, size, crc).map_err(|reason| corrupt(format!("entry `{name}`: {reason}")))?;
        done.written += 1;
    }
    Ok(done)
}

/// Copies one entry to `target` through a temporary file, checking its size and CRC-32.
fn write_entry(mut reader: impl Read, target: &Path, size: u64, crc: u32) -> Result<(), String> {
    let parent = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(|e| format!("creating {}: {e}", parent.display()))?;
    let temp = temp_name(target);
    let result = (|| {
        let mut out = BufWriter::new(File::create(&temp).map_err(|e| format!("creating {}: {e}", temp.display()))?);
        let mut hasher = crc32fast::Hasher::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut written = 0u64;
        loop {
            let n = reader.read(&mut buf).map_err(|e| format!("reading: {e}"))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            out.write_all(&buf[..n]).map_err(|e| format!("writing {}: {e}", temp.display()))?;
            written += n as u64;
        }
        out.flush().map_err(|e| format!("writing {}: {e}", temp.display()))?;
        if written != size {
            return Err(format!("{written} bytes unpacked, the archive says {size}"));
        }
        if hasher.finalize() != crc {
            return Err("the CRC-32 does not match: the archive is damaged".to_string());
        }
        std::fs::rename(&temp, target).map_err(|e| format!("renaming to {}: {e}", target.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn temp_name(target: &Path) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    target.with_file_name(format!(".{name}.unpacking-{}", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::DeflateEncoder;
    use flate2::Compression;

    /// A zip archive built byte by byte (the `zip` writer here is built without deflate): each
    /// entry `(name, data, deflate)`.
    fn zip_bytes(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data, deflate) in entries {
            let stored: Vec<u8> = if *deflate {
                let mut enc = DeflateEncoder::new(Vec::new(), Compression::default());
                enc.write_all(data).unwrap();
                enc.finish().unwrap()
            } else {
                data.to_vec()
            };
            let crc = crc32fast::hash(data);
            let method: u16 = if *deflate { 8 } else { 0 };
            let offset = out.len() as u32;
            let fields = |buf: &mut Vec<u8>| {
                buf.extend(20u16.to_le_bytes());
                buf.extend(0u16.to_le_bytes());
                buf.extend(method.to_le_bytes());
                buf.extend([0u8; 4]);
                buf.extend(crc.to_le_bytes());
                buf.extend((stored.len() as u32).to_le_bytes());
                buf.extend((data.len() as u32).to_le_bytes());
                buf.extend((name.len() as u16).to_le_bytes());
                buf.extend(0u16.to_le_bytes());
            };
            out.extend(0x04034b50u32.to_le_bytes());
            fields(&mut out);
            out.extend(name.as_bytes());
            out.extend(&stored);
            central.extend(0x02014b50u32.to_le_bytes());
            central.extend(20u16.to_le_bytes());
            fields(&mut central);
            // Comment length, start disk, internal and external attributes.
            central.extend([0u8; 10]);
            central.extend(offset.to_le_bytes());
            central.extend(name.as_bytes());
        }
        let cd_offset = out.len() as u32;
        out.extend(&central);
        out.extend(0x06054b50u32.to_le_bytes());
        out.extend([0u8; 4]);
        out.extend((entries.len() as u16).to_le_bytes());
        out.extend((entries.len() as u16).to_le_bytes());
        out.extend((central.len() as u32).to_le_bytes());
        out.extend(cd_offset.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out
    }

    #[test]
    fn stored_and_deflated_entries_unpack_with_their_folders_once() {
        let dir = tempfile::tempdir().unwrap();
        let video: Vec<u8> = (0..5000u32).flat_map(|i| (i % 7).to_le_bytes()).collect();
        let archive = dir.path().join("videos_chunked_01.zip");
        std::fs::write(
            &archive,
            zip_bytes(&[("data/abc.mp4", &video, true), ("data/def.mkv", b"stored bytes", false)]),
        )
        .unwrap();
        let dest = dir.path().join("snapshot");
        assert_eq!(unpack_zip(&archive, &dest).unwrap(), Unpacked { written: 2, kept: 0 });
        assert_eq!(std::fs::read(dest.join("data/abc.mp4")).unwrap(), video);
        assert_eq!(std::fs::read(dest.join("data/def.mkv")).unwrap(), b"stored bytes");
        assert_eq!(unpack_zip(&archive, &dest).unwrap(), Unpacked { written: 0, kept: 2 }, "nothing is rewritten");
        // A file cut short (an interrupted copy) is written again.
        std::fs::write(dest.join("data/abc.mp4"), b"cut").unwrap();
        assert_eq!(unpack_zip(&archive, &dest).unwrap(), Unpacked { written: 1, kept: 1 });
        assert_eq!(std::fs::read(dest.join("data/abc.mp4")).unwrap(), video);
    }

    #[test]
    fn damaged_and_escaping_archives_name_the_archive() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out");
        let escaping = dir.path().join("escape.zip");
        std::fs::write(&escaping, zip_bytes(&[("../evil.mp4", b"x", false)])).unwrap();
        let err = unpack_zip(&escaping, &dest).unwrap_err().to_string();
        assert!(err.contains("escape.zip") && err.contains("outside the folder"), "{err}");
        assert!(!dir.path().join("evil.mp4").exists());

        let mut bytes = zip_bytes(&[("data/a.mp4", b"0123456789abcdef", false)]);
        bytes[40] ^= 0xff; // inside the stored data: the CRC-32 no longer matches
        let flipped = dir.path().join("flipped.zip");
        std::fs::write(&flipped, bytes).unwrap();
        let err = unpack_zip(&flipped, &dest).unwrap_err().to_string();
        assert!(err.contains("flipped.zip") && err.contains("CRC-32"), "{err}");
        assert!(!dest.join("data/a.mp4").exists(), "nothing half-checked is left");

        let truncated = dir.path().join("cut.zip");
        std::fs::write(&truncated, b"PK\x03\x04 not really").unwrap();
        let err = unpack_zip(&truncated, &dest).unwrap_err().to_string();
        assert!(err.starts_with("cannot unpack archive") && err.contains("fetch it again"), "{err}");
        assert_eq!(err.lines().count(), 1);
    }
}
