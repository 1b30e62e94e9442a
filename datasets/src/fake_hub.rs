//! A stand-in for the Hugging Face hub on loopback, for tests of `bench fetch --task`.
//!
//! The real hub cannot be reached where SmolBench is built and tested, so this serves one data
//! set from a local directory with the two routes the `hf-hub` client uses: the repository info
//! (`GET /api/datasets/ORG/NAME/revision/REV` → file list and commit) and file downloads
//! (`GET /datasets/ORG/NAME/resolve/REV/PATH` with a `Range` header → `206` with
//! `Content-Range`, `ETag` and `X-Repo-Commit`). Each connection answers one request and closes.
//! The server stops when the [`FakeHub`] is dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// A running fake hub.
#[derive(Debug)]
pub struct FakeHub {
    endpoint: String,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

struct Served {
    repo_id: String,
    commit: String,
    root: PathBuf,
    files: Vec<String>,
}

impl FakeHub {
    /// Serves every file under `root` as data set `repo_id` at commit `commit`.
    pub fn serve(repo_id: &str, commit: &str, root: &Path) -> std::io::Result<FakeHub> {
        let mut files = Vec::new();
        collect_files(root, root, &mut files)?;
        files.sort();
        let listener = TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let stop = Arc::new(AtomicBool::new(false));
        let served = Arc::new(Served {
            repo_id: repo_id.to_string(),
            commit: commit.to_string(),
            root: root.to_path_buf(),
            files,
        });
        let thread = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let served = served.clone();
                            std::thread::spawn(move || {
                                let _ = answer(stream, &served);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Ok(FakeHub { endpoint, stop, thread: Some(thread) })
    }

    /// The base URL to put in `HF_ENDPOINT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }
}

impl Drop for FakeHub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn collect_files(root: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(root, &path, out)?;
        } else {
            out.push(crate::lock::relative_path(&path, root));
        }
    }
    Ok(())
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

fn answer(mut stream: TcpStream, served: &Served) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("range") {
                range = value.trim().strip_prefix("bytes=").and_then(|r| {
                    let (a, b) = r.split_once('-')?;
                    Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?))
                });
            }
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let info_prefix = format!("/api/datasets/{}/revision/", served.repo_id);
    let file_prefix = format!("/datasets/{}/resolve/", served.repo_id);
    if path.starts_with(&info_prefix) {
        let siblings: Vec<serde_json::Value> =
            served.files.iter().map(|f| serde_json::json!({ "rfilename": f })).collect();
        let body = serde_json::json!({ "sha": served.commit, "siblings": siblings }).to_string();
        return respond(&mut stream, "200 OK", &[("Content-Type", "application/json".into())], body.as_bytes());
    }
    if let Some(rest) = path.strip_prefix(&file_prefix) {
        let file = rest.split_once('/').map_or("", |(_, f)| f);
        let mut bytes = Vec::new();
        if served.files.iter().any(|f| f == file) {
            std::fs::File::open(served.root.join(file))?.read_to_end(&mut bytes)?;
            let etag = hex::encode(Sha256::digest(&bytes));
            let (start, end) = range.unwrap_or((0, bytes.len().saturating_sub(1)));
            let end = end.min(bytes.len().saturating_sub(1));
            let headers = [
                ("ETag", format!("\"{etag}\"")),
                ("X-Repo-Commit", served.commit.clone()),
                ("Content-Range", format!("bytes {start}-{end}/{}", bytes.len())),
            ];
            return respond(&mut stream, "206 Partial Content", &headers, &bytes[start..=end]);
        }
    }
    respond(&mut stream, "404 Not Found", &[], b"not found")
}
