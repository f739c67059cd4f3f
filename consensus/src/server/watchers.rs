//! Registered watchers (CAPI's `machine_id` + password) and their tokens.

use foldhash::HashMap as FoldHashMap;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Rounds of SHA-256 over salt and password (slows guessing from a stolen file; not a
/// memory-hard hash).
const HASH_ROUNDS: u32 = 4096;

/// One registered watcher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Watcher {
    pub id: String,
    pub salt: String,
    pub hash: String,
    /// Registration time (Unix seconds).
    pub created: i64,
}

/// Why a registration is refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum RegisterError {
    /// Registered already, with another password.
    Exists,
    /// `machine_id` or `password` empty, too long, or with other characters than CAPI's.
    Invalid(&'static str),
    /// As many watchers as reporters the rule keeps.
    Full,
}

fn hash(salt: &str, password: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update([0]);
    h.update(password.as_bytes());
    let mut d = h.finalize();
    for _ in 1..HASH_ROUNDS {
        let mut h = Sha256::new();
        h.update(d);
        h.update(password.as_bytes());
        d = h.finalize();
    }
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Registered watchers by id.
#[derive(Debug, Default)]
pub(crate) struct Watchers {
    map: FoldHashMap<String, Watcher>,
    max: usize,
}

impl Watchers {
    pub fn new(records: Vec<Watcher>, max: usize) -> Watchers {
        Watchers {
            map: records.into_iter().map(|w| (w.id.clone(), w)).collect(),
            max,
        }
    }

    pub fn records(&self) -> Vec<Watcher> {
        let mut v: Vec<Watcher> = self.map.values().cloned().collect();
        v.sort_by(|a, b| a.id.cmp(&b.id));
        v
    }

    pub fn exists(&self, id: &str) -> bool {
        self.map.contains_key(id)
    }

    /// Registers `id`; true when it is new (registering again with the same password is fine).
    pub fn register(&mut self, id: &str, password: &str, now: i64) -> Result<bool, RegisterError> {
        let id_ok = id.len() <= wire::signal::SIGNAL_FIELD_MAX
            && !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
        if !id_ok {
            return Err(RegisterError::Invalid(
                "machine_id: 1 to 128 of [A-Za-z0-9._-]",
            ));
        }
        if password.is_empty() || password.len() > 256 {
            return Err(RegisterError::Invalid("password: 1 to 256 bytes"));
        }
        if let Some(w) = self.map.get(id) {
            return if hash(&w.salt, password) == w.hash {
                Ok(false)
            } else {
                Err(RegisterError::Exists)
            };
        }
        if self.map.len() >= self.max {
            return Err(RegisterError::Full);
        }
        let salt = format!("{:032x}", rand::random::<u128>());
        let w = Watcher {
            id: id.to_string(),
            hash: hash(&salt, password),
            salt,
            created: now,
        };
        self.map.insert(id.to_string(), w);
        Ok(true)
    }

    pub fn check(&self, id: &str, password: &str) -> bool {
        self.map
            .get(id)
            .is_some_and(|w| hash(&w.salt, password) == w.hash)
    }

    pub fn remove(&mut self, id: &str) -> bool {
        self.map.remove(id).is_some()
    }
}

/// Token claims (gin-jwt's names, as CrowdSec's APIs use).
#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    id: String,
    exp: i64,
    orig_iat: i64,
}

/// Signs and checks watcher tokens.
pub(crate) struct Tokens {
    enc: EncodingKey,
    dec: DecodingKey,
    pub ttl: i64,
}

impl Tokens {
    pub fn new(secret: &[u8], ttl: i64) -> Tokens {
        Tokens {
            enc: EncodingKey::from_secret(secret),
            dec: DecodingKey::from_secret(secret),
            ttl,
        }
    }

    /// A token for `id`, valid until the returned time.
    pub fn issue(&self, id: &str, now: i64) -> Result<(String, i64), jsonwebtoken::errors::Error> {
        let exp = now + self.ttl;
        let claims = Claims {
            id: id.to_string(),
            exp,
            orig_iat: now,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.enc).map(|t| (t, exp))
    }

    /// The watcher id of a valid, unexpired token.
    pub fn verify(&self, token: &str) -> Option<String> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        jsonwebtoken::decode::<Claims>(token, &self.dec, &v)
            .ok()
            .map(|d| d.claims.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_check_and_tokens() {
        let mut w = Watchers::new(Vec::new(), 2);
        assert_eq!(w.register("abc", "pw", 1), Ok(true));
        assert_eq!(w.register("abc", "pw", 2), Ok(false));
        assert_eq!(w.register("abc", "other", 2), Err(RegisterError::Exists));
        assert!(matches!(
            w.register("a b", "pw", 2),
            Err(RegisterError::Invalid(_))
        ));
        assert!(w.check("abc", "pw") && !w.check("abc", "PW") && !w.check("nobody", "pw"));
        assert_eq!(w.register("def", "pw", 3), Ok(true));
        assert_eq!(w.register("ghi", "pw", 3), Err(RegisterError::Full));
        let back = Watchers::new(w.records(), 2);
        assert!(back.check("def", "pw"));
        let t = Tokens::new(b"0123456789abcdef0123456789abcdef", 60);
        let now = chrono::Utc::now().timestamp();
        let (tok, exp) = t.issue("abc", now).unwrap();
        assert_eq!(exp, now + 60);
        assert_eq!(t.verify(&tok).as_deref(), Some("abc"));
        assert_eq!(t.verify(&format!("{tok}x")), None);
        let (old, _) = t.issue("abc", now - 120).unwrap();
        assert_eq!(t.verify(&old), None, "expired");
    }
}
