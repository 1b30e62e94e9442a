//! Who may talk to `bench serve`: the API key (a bearer token compared in constant time), the
//! `Host` a loopback server answers to (a web page that rebinds its name to 127.0.0.1 sends its own
//! name), `Origin` (a browser's cross-site request carries one), and the JSON content type (a
//! page can send `text/plain` without a preflight, not `application/json`).

use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, ORIGIN};
use http::HeaderMap;
use sha2::{Digest, Sha256};

/// Why a request is refused: status and one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// The message.
    pub message: String,
}

impl Refusal {
    fn new(status: u16, message: impl Into<String>) -> Self {
        Refusal { status, message: message.into() }
    }
}

/// The access rules of one server.
#[derive(Clone)]
pub struct Access {
    key_digest: Option<[u8; 32]>,
    loopback: bool,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("api_key", &self.key_digest.map(|_| "set"))
            .field("loopback", &self.loopback)
            .finish()
    }
}

/// Equal digests, in time that does not depend on where they differ.
fn same_digest(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn digest(text: &[u8]) -> [u8; 32] {
    Sha256::digest(text).into()
}

/// The host name of a `Host` header value or an origin's authority (`name`, `name:port`,
/// `[v6]:port`), lower-cased.
fn host_name(authority: &str) -> String {
    let authority = authority.trim();
    let name = if let Some(rest) = authority.strip_prefix('[') {
        rest.split(']').next().unwrap_or_default()
    } else {
        authority.rsplit_once(':').map_or(authority, |(name, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                name
            } else {
                authority
            }
        })
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

fn is_loopback_name(name: &str) -> bool {
    name == "localhost"
        || name.ends_with(".localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Access {
    /// Rules for a server bound to a loopback address (`loopback`) or not, with or without a key.
    pub fn new(api_key: Option<&str>, loopback: bool) -> Self {
        Access { key_digest: api_key.map(|k| digest(k.as_bytes())), loopback }
    }

    /// Checks where a request comes from (every route).
    pub fn check_origin(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let host = headers.get(HOST).and_then(|v| v.to_str().ok());
        if self.loopback {
            if let Some(host) = host {
                if !is_loopback_name(&host_name(host)) {
                    return Err(Refusal::new(
                        403,
                        format!("this server listens on loopback and answers only to localhost, not to Host `{host}`"),
                    ));
                }
            }
        }
        if let Some(origin) = headers.get(ORIGIN) {
            let origin = origin.to_str().unwrap_or("(not text)");
            let authority = origin.split_once("://").map(|(_, rest)| rest.trim_end_matches('/'));
            let same = match (authority, host) {
                (Some(authority), Some(host)) => authority.eq_ignore_ascii_case(host.trim()),
                _ => false,
            };
            if !same {
                return Err(Refusal::new(
                    403,
                    format!("cross-origin requests are refused (Origin `{origin}`); call the API from a program, not a web page"),
                ));
            }
        }
        Ok(())
    }

    /// Checks the bearer token, where the server has a key.
    pub fn check_key(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        let Some(expected) = &self.key_digest else { return Ok(()) };
        let given = headers.get(AUTHORIZATION).map(|v| v.as_bytes()).unwrap_or_default();
        let token = given.strip_prefix(b"Bearer ").or_else(|| given.strip_prefix(b"bearer ")).map(|t| t.trim_ascii());
        match token {
            Some(token) if same_digest(&digest(token), expected) => Ok(()),
            Some(_) => Err(Refusal::new(401, "the API key is not valid")),
            None => Err(Refusal::new(401, "this server needs an API key: send `Authorization: Bearer KEY`")),
        }
    }
}

/// A JSON body is required (`application/json`, parameters allowed).
pub fn check_json_content_type(headers: &HeaderMap) -> Result<(), Refusal> {
    let value = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media = value.split(';').next().unwrap_or("").trim();
    if media.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        let shown = if value.is_empty() { "none".to_string() } else { format!("`{value}`") };
        Err(Refusal::new(415, format!("send the body as Content-Type: application/json (got {shown})")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn keys_are_checked() {
        let access = Access::new(Some("s3cret"), true);
        assert!(access.check_key(&headers(&[("authorization", "Bearer s3cret")])).is_ok());
        assert_eq!(access.check_key(&headers(&[("authorization", "Bearer s3cre")])).unwrap_err().status, 401);
        assert_eq!(access.check_key(&headers(&[("authorization", "s3cret")])).unwrap_err().status, 401);
        assert!(access.check_key(&headers(&[])).unwrap_err().message.contains("Authorization: Bearer"));
        assert!(Access::new(None, true).check_key(&headers(&[])).is_ok());
    }

    #[test]
    fn loopback_servers_answer_only_to_local_names_and_their_own_origin() {
        let access = Access::new(None, true);
        for host in ["127.0.0.1:8000", "localhost:8000", "[::1]:8000", "localhost", "LOCALHOST."] {
            assert!(access.check_origin(&headers(&[("host", host)])).is_ok(), "{host}");
        }
        for host in ["evil.example:8000", "10.0.0.5:8000", "127.0.0.1.evil.example"] {
            assert_eq!(access.check_origin(&headers(&[("host", host)])).unwrap_err().status, 403, "{host}");
        }
        let own = headers(&[("host", "127.0.0.1:8000"), ("origin", "http://127.0.0.1:8000")]);
        assert!(access.check_origin(&own).is_ok());
        let foreign = headers(&[("host", "127.0.0.1:8000"), ("origin", "https://evil.example")]);
        assert!(access.check_origin(&foreign).unwrap_err().message.contains("evil.example"));
        let null = headers(&[("host", "127.0.0.1:8000"), ("origin", "null")]);
        assert_eq!(access.check_origin(&null).unwrap_err().status, 403);
        // A server for other machines answers to any name, still not to other origins.
        let open = Access::new(Some("k"), false);
        assert!(open.check_origin(&headers(&[("host", "gpu-node-7:8000")])).is_ok());
        assert!(open.check_origin(&headers(&[("host", "gpu-node-7:8000"), ("origin", "http://x")])).is_err());
    }

    #[test]
    fn only_json_bodies_are_taken() {
        assert!(check_json_content_type(&headers(&[("content-type", "application/json; charset=utf-8")])).is_ok());
        assert_eq!(check_json_content_type(&headers(&[("content-type", "text/plain")])).unwrap_err().status, 415);
        assert!(check_json_content_type(&headers(&[])).unwrap_err().message.contains("none"));
    }
}
