//! Token strings Tessera mints: HS256 JWTs whose `jti` is the authorization
//! id. The signature proves Tessera minted a token; the stored authorization
//! (looked up by the token's hash on every request) decides whether it still
//! works, so deleting or deactivating takes effect at once.

use crate::error::{Error, Result};
use crate::id::Id;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

const ISSUER: &str = "tessera";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    jti: String,
    sub: String,
    iss: String,
    iat: u64,
}

pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl TokenSigner {
    pub fn new(secret: &[u8]) -> Self {
        TokenSigner {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    pub fn mint(&self, authorization: Id, user: Id) -> Result<String> {
        let iat = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = Claims {
            jti: authorization.to_string(),
            sub: user.to_string(),
            iss: ISSUER.into(),
            iat,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(Error::internal)
    }

    /// The authorization id of a token this server signed; `None` for anything
    /// else (another key, another algorithm, `alg: none`, missing claims).
    pub fn verify(&self, token: &str) -> Option<Id> {
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_exp = false;
        v.required_spec_claims = ["jti", "iss", "sub"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.set_issuer(&[ISSUER]);
        let data = decode::<Claims>(token, &self.decoding, &v).ok()?;
        Id::parse(&data.claims.jti).ok()
    }
}

/// A fresh random secret for a new data directory.
pub fn generate_secret() -> Vec<u8> {
    use rand::RngCore;
    let mut key = vec![0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut key);
    key
}

/// A fresh random session id (not guessable, URL- and cookie-safe).
pub fn session_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_foreign_and_unsigned_tokens() {
        let a = TokenSigner::new(b"key-a");
        let b = TokenSigner::new(b"key-b");
        let id = Id::from_u64(42).expect("id");
        let t = a.mint(id, id).expect("mint");
        assert_eq!(a.verify(&t), Some(id));
        assert_eq!(b.verify(&t), None);
        // alg: none with the same claims.
        let parts: Vec<&str> = t.split('.').collect();
        let none = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", parts[1]);
        assert_eq!(a.verify(&none), None);
    }
}
