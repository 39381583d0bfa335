//! SASL for the wire client, the mechanisms: PLAIN (RFC 4616) and SCRAM-SHA-256/512
//! (RFC 5802, RFC 7677). Pure, no I/O: the SCRAM client is tested against the RFC's vectors;
//! `wire` runs the exchange (SaslHandshake, then SaslAuthenticate rounds) over a connection.

use crate::security::{SaslMechanism, Secret};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
/// Kafka refuses fewer (its ScramMechanism minimum); more than its maximum would only make a
/// hostile server burn our CPU.
const MIN_ITERATIONS: u32 = 4096;
const MAX_ITERATIONS: u32 = 100_000;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScramError {
    #[error("malformed server-first message: {0}")]
    ServerFirst(String),
    #[error("the server's nonce does not extend ours")]
    Nonce,
    #[error("the server asks for {0} iterations; accepted: {MIN_ITERATIONS} to {MAX_ITERATIONS}")]
    Iterations(u32),
    #[error("the server refused: {0}")]
    Server(String),
    #[error("malformed server-final message: {0}")]
    ServerFinal(String),
    #[error("the server's signature is wrong: it does not know the credentials")]
    Signature,
    #[error("called out of order")]
    Order,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    Sha256,
    Sha512,
}

impl ScramHash {
    pub fn of(mechanism: SaslMechanism) -> Option<ScramHash> {
        match mechanism {
            SaslMechanism::Plain => None,
            SaslMechanism::ScramSha256 => Some(ScramHash::Sha256),
            SaslMechanism::ScramSha512 => Some(ScramHash::Sha512),
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key)
                .expect("HMAC takes a key of any length");
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            ScramHash::Sha256 => run::<Hmac<Sha256>>(key, data),
            ScramHash::Sha512 => run::<Hmac<Sha512>>(key, data),
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// Hi() of RFC 5802: PBKDF2 with HMAC of this hash.
    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => {
                let mut out = [0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out.to_vec()
            }
            ScramHash::Sha512 => {
                let mut out = [0u8; 64];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
                out.to_vec()
            }
        }
    }
}

/// `=` and `,` are escaped in a SCRAM user name (RFC 5802 §5.1).
fn sasl_name(username: &str) -> String {
    username.replace('=', "=3D").replace(',', "=2C")
}

/// One SCRAM exchange, client side: client-first, then client-final from the server-first
/// message, then the server-final message checked (mutual authentication).
pub struct ScramClient {
    hash: ScramHash,
    password: Secret,
    nonce: String,
    client_first_bare: String,
    server_signature: Option<Vec<u8>>,
}

impl ScramClient {
    /// `nonce`: printable, no comma (see [`random_nonce`]).
    pub fn new(hash: ScramHash, username: &str, password: Secret, nonce: String) -> Self {
        let client_first_bare = format!("n={},r={nonce}", sasl_name(username));
        Self {
            hash,
            password,
            nonce,
            client_first_bare,
            server_signature: None,
        }
    }

    /// No channel binding, no authorization identity: `n,,`.
    pub fn client_first(&self) -> String {
        format!("n,,{}", self.client_first_bare)
    }

    pub fn client_final(&mut self, server_first: &str) -> Result<String, ScramError> {
        let bad = |m: &str| ScramError::ServerFirst(m.to_string());
        if let Some(e) = server_first.strip_prefix("e=") {
            return Err(ScramError::Server(e.to_string()));
        }
        if server_first.starts_with("m=") {
            return Err(bad("a mandatory extension we do not support"));
        }
        let (mut nonce, mut salt, mut iterations) = (None, None, None);
        for attr in server_first.split(',') {
            match attr.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => {
                    salt = Some(B64.decode(v).map_err(|_| bad("salt is not base64"))?)
                }
                Some(("i", v)) => {
                    iterations = Some(
                        v.parse::<u32>()
                            .map_err(|_| bad("iteration count is not a number"))?,
                    )
                }
                _ => {} // extensions
            }
        }
        let nonce = nonce.ok_or_else(|| bad("no nonce"))?;
        let salt = salt.ok_or_else(|| bad("no salt"))?;
        let iterations = iterations.ok_or_else(|| bad("no iteration count"))?;
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(ScramError::Nonce);
        }
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(ScramError::Iterations(iterations));
        }
        let h = self.hash;
        let salted = h.salted_password(self.password.expose().as_bytes(), &salt, iterations);
        let client_key = h.hmac(&salted, b"Client Key");
        let stored_key = h.hash(&client_key);
        // c=biws: base64 of the GS2 header `n,,`.
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_signature = h.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = h.hmac(&salted, b"Server Key");
        self.server_signature = Some(h.hmac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", B64.encode(proof)))
    }

    pub fn verify_server_final(&self, server_final: &str) -> Result<(), ScramError> {
        let expected = self.server_signature.as_ref().ok_or(ScramError::Order)?;
        if let Some(e) = server_final.strip_prefix("e=") {
            return Err(ScramError::Server(e.to_string()));
        }
        let v = server_final
            .split(',')
            .find_map(|a| a.strip_prefix("v="))
            .ok_or_else(|| ScramError::ServerFinal("no verifier".into()))?;
        let got = B64
            .decode(v)
            .map_err(|_| ScramError::ServerFinal("verifier is not base64".into()))?;
        if &got != expected {
            return Err(ScramError::Signature);
        }
        Ok(())
    }
}

/// PLAIN's one token (RFC 4616): [authzid] NUL authcid NUL passwd.
pub fn plain_token(user: &str, password: &Secret) -> Vec<u8> {
    [b"\0", user.as_bytes(), b"\0", password.expose().as_bytes()].concat()
}

/// A client nonce: 32 random alphanumerics.
pub fn random_nonce() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::thread_rng(), 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7677 §3.
    const NONCE: &str = "rOprNGfwEbeRWgbNEkqO";
    const SERVER_FIRST: &str =
        "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

    fn client(hash: ScramHash) -> ScramClient {
        ScramClient::new(hash, "user", Secret::new("pencil"), NONCE.into())
    }

    #[test]
    fn scram_sha_256_matches_rfc_7677() {
        let mut c = client(ScramHash::Sha256);
        assert_eq!(c.client_first(), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        assert_eq!(
            c.client_final(SERVER_FIRST).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        c.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
    }

    #[test]
    fn scram_sha_512_matches_an_independent_computation() {
        // The RFC 7677 exchange with SHA-512, computed with Python's hashlib/hmac.
        let mut c = client(ScramHash::Sha512);
        assert_eq!(
            c.client_final(SERVER_FIRST).unwrap(),
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=gMGXRcevScNtxZ6/8lQYpGtnsNAc3mGcmNomv+xnoOMw+3R2xNJdMNnzMlTN8PPC6wdp6dybEmDYXYTxwnYPJQ=="
        );
        c.verify_server_final("v=ZQnYEgWQMFmmsM8aQMF0nDDCy/AgCzkwk8CmMZYcMg0vSVlKDanekLtifDSeVGT4+5ZxXnJq199RVG2rR7N7Zw==")
            .unwrap();
    }

    #[test]
    fn a_wrong_server_signature_or_nonce_is_refused() {
        let mut c = client(ScramHash::Sha256);
        assert_eq!(c.verify_server_final("v=AAAA"), Err(ScramError::Order));
        c.client_final(SERVER_FIRST).unwrap();
        assert_eq!(
            c.verify_server_final("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Err(ScramError::Signature)
        );
        assert_eq!(
            c.verify_server_final("e=invalid-proof"),
            Err(ScramError::Server("invalid-proof".into()))
        );
        let mut c = client(ScramHash::Sha256);
        assert_eq!(
            c.client_final("r=someoneelse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"),
            Err(ScramError::Nonce)
        );
        // The server must add to the nonce.
        assert_eq!(
            c.client_final(&format!("r={NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")),
            Err(ScramError::Nonce)
        );
        assert_eq!(
            c.client_final(&format!("r={NONCE}x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=100")),
            Err(ScramError::Iterations(100))
        );
        for bad in [
            format!("r={NONCE}x,i=4096"),
            format!("r={NONCE}x,s=!!,i=4096"),
            format!("r={NONCE}x,s=AA==,i=many"),
            "m=ext,r=x".into(),
            String::new(),
        ] {
            assert!(
                matches!(c.client_final(&bad), Err(ScramError::ServerFirst(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn user_names_are_escaped_and_nonces_are_fresh() {
        let c = ScramClient::new(ScramHash::Sha512, "a=b,c", Secret::new("p"), "N".into());
        assert_eq!(c.client_first(), "n,,n=a=3Db=2Cc,r=N");
        let (a, b) = (random_nonce(), random_nonce());
        assert_ne!(a, b);
        assert!(a.len() == 32 && a.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
