//! WAMP-SCRAM (RFC 5802 / RFC 7677 with SHA-256, and Argon2id or PBKDF2 as the key
//! derivation), as the spec maps it onto HELLO, CHALLENGE, AUTHENTICATE and WELCOME.
//!
//! Both halves live here: the client computes the proof and checks the router's
//! verifier; the router checks the proof against the stored key and signs.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::AuthError;

/// The method name in `authmethods` and CHALLENGE.
pub const METHOD: &str = "wamp-scram";

/// A key derivation function and its cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kdf {
    /// `argon2id13`: Argon2id v1.3, parallelism 1, 32-byte output.
    Argon2id13 {
        /// Time cost.
        iterations: u32,
        /// Memory cost in KiB.
        memory: u32,
    },
    /// `pbkdf2`: PBKDF2-HMAC-SHA256, 32-byte output.
    Pbkdf2 {
        /// Iteration count.
        iterations: u32,
    },
}

impl Kdf {
    /// The spec's name.
    pub fn name(self) -> &'static str {
        match self {
            Kdf::Argon2id13 { .. } => "argon2id13",
            Kdf::Pbkdf2 { .. } => "pbkdf2",
        }
    }

    /// The iteration count.
    pub fn iterations(self) -> u32 {
        match self {
            Kdf::Argon2id13 { iterations, .. } | Kdf::Pbkdf2 { iterations } => iterations,
        }
    }
}

fn bad(reason: impl Into<String>) -> AuthError {
    AuthError::BadChallenge {
        method: METHOD,
        reason: reason.into(),
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// SASLprep-normalizes a user name or password (RFC 4013).
pub fn normalize(s: &str) -> Result<String, AuthError> {
    stringprep::saslprep(s)
        .map(|c| c.into_owned())
        .map_err(|e| AuthError::BadKey(format!("cannot normalize: {e}")))
}

/// `SaltedPassword = KDF(Normalize(password), UnBase64(salt), params)`.
pub fn salted_password(password: &str, salt_b64: &str, kdf: Kdf) -> Result<[u8; 32], AuthError> {
    let password = normalize(password)?;
    let salt = B64
        .decode(salt_b64)
        .map_err(|e| bad(format!("salt is not base64: {e}")))?;
    let mut out = [0u8; 32];
    match kdf {
        Kdf::Pbkdf2 { iterations } => {
            if iterations == 0 {
                return Err(bad("iterations must be at least 1"));
            }
            pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), &salt, iterations, &mut out);
        }
        Kdf::Argon2id13 { iterations, memory } => {
            let params = argon2::Params::new(memory, iterations, 1, Some(32))
                .map_err(|e| bad(format!("argon2 parameters: {e}")))?;
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                .hash_password_into(password.as_bytes(), &salt, &mut out)
                .map_err(|e| bad(format!("argon2: {e}")))?;
        }
    }
    Ok(out)
}

/// What a router stores per user: `StoredKey = SHA256(HMAC(SaltedPassword, "Client Key"))`
/// and `ServerKey = HMAC(SaltedPassword, "Server Key")`.
pub fn stored_and_server_key(salted: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    let client_key = hmac(salted, b"Client Key");
    (
        Sha256::digest(client_key).into(),
        hmac(salted, b"Server Key"),
    )
}

/// RFC 5802 escaping of `,` and `=` in the user name.
fn escape(s: &str) -> String {
    s.replace('=', "=3D").replace(',', "=2C")
}

/// The AuthMessage both sides sign.
pub fn auth_message(
    authid: &str,
    client_nonce: &str,
    nonce: &str,
    salt_b64: &str,
    iterations: u32,
    channel_binding: Option<(&str, &[u8])>,
) -> String {
    let mut cbind_input = match channel_binding {
        Some((name, _)) => format!("p={name},,").into_bytes(),
        None => b"n,,".to_vec(),
    };
    if let Some((_, data)) = channel_binding {
        cbind_input.extend_from_slice(data);
    }
    format!(
        "n={},r={client_nonce},r={nonce},s={salt_b64},i={iterations},c={},r={nonce}",
        escape(authid),
        B64.encode(cbind_input)
    )
}

/// `ClientProof = ClientKey XOR HMAC(StoredKey, AuthMessage)`, base64.
pub fn client_proof(salted: &[u8; 32], auth_message: &str) -> String {
    let client_key = hmac(salted, b"Client Key");
    let stored_key: [u8; 32] = Sha256::digest(client_key).into();
    let signature = hmac(&stored_key, auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(signature.iter())
        .map(|(a, b)| a ^ b)
        .collect();
    B64.encode(proof)
}

/// Router side: checks a client proof against the stored key, in constant time.
pub fn verify_client_proof(stored_key: &[u8; 32], auth_message: &str, proof_b64: &str) -> bool {
    use subtle::ConstantTimeEq;
    let Ok(proof) = B64.decode(proof_b64) else {
        return false;
    };
    if proof.len() != 32 {
        return false;
    }
    let signature = hmac(stored_key, auth_message.as_bytes());
    let client_key: Vec<u8> = proof
        .iter()
        .zip(signature.iter())
        .map(|(a, b)| a ^ b)
        .collect();
    let recovered: [u8; 32] = Sha256::digest(&client_key).into();
    recovered.ct_eq(stored_key).into()
}

/// `ServerSignature = HMAC(ServerKey, AuthMessage)`, base64: the WELCOME verifier.
pub fn server_signature(server_key: &[u8; 32], auth_message: &str) -> String {
    B64.encode(hmac(server_key, auth_message.as_bytes()))
}

/// Client side: checks the router's verifier (with or without the RFC's `v=` prefix).
pub fn verify_server_signature(salted: &[u8; 32], auth_message: &str, verifier: &str) -> bool {
    use subtle::ConstantTimeEq;
    let (_, server_key) = stored_and_server_key(salted);
    let expected = server_signature(&server_key, auth_message);
    let got = verifier.strip_prefix("v=").unwrap_or(verifier);
    expected.as_bytes().ct_eq(got.as_bytes()).into()
}

/// A fresh client or server nonce: 16 random bytes, base64.
pub fn nonce() -> String {
    B64.encode(rand::random::<[u8; 16]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 section 3 (SCRAM-SHA-256), which the WAMP-SCRAM spec's examples reuse.
    #[test]
    fn rfc7677_vector() {
        let salted = salted_password(
            "pencil",
            "W22ZaJ0SNY7soEsUEjb6gQ==",
            Kdf::Pbkdf2 { iterations: 4096 },
        )
        .expect("kdf");
        let client_nonce = "rOprNGfwEbeRWgbNEkqO";
        let nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let msg = auth_message(
            "user",
            client_nonce,
            nonce,
            "W22ZaJ0SNY7soEsUEjb6gQ==",
            4096,
            None,
        );
        assert_eq!(
            msg,
            "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
        );
        let proof = client_proof(&salted, &msg);
        assert_eq!(proof, "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
        let (stored, server) = stored_and_server_key(&salted);
        assert!(verify_client_proof(&stored, &msg, &proof));
        assert!(!verify_client_proof(
            &stored,
            &msg,
            "dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVA="
        ));
        assert_eq!(
            server_signature(&server, &msg),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
        assert!(verify_server_signature(
            &salted,
            &msg,
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        ));
        assert!(verify_server_signature(
            &salted,
            &msg,
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        ));
        assert!(!verify_server_signature(
            &salted,
            &msg,
            "v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        ));
    }

    #[test]
    fn argon2id_round_trip_and_escaping() {
        let kdf = Kdf::Argon2id13 {
            iterations: 2,
            memory: 1024,
        };
        let a = salted_password("secret", "c2FsdHNhbHRzYWx0", kdf).expect("kdf");
        let b = salted_password("secret", "c2FsdHNhbHRzYWx0", kdf).expect("kdf");
        assert_eq!(a, b);
        assert_ne!(
            a,
            salted_password("Secret", "c2FsdHNhbHRzYWx0", kdf).expect("kdf")
        );
        assert!(salted_password("x", "not base64!", kdf).is_err());
        assert!(auth_message("a,b=c", "n", "nn", "s", 1, None).starts_with("n=a=2Cb=3Dc,"));
        // SASLprep maps non-ASCII spaces to spaces (RFC 4013 section 2.1).
        assert_eq!(normalize("I\u{00A0}X").expect("prep"), "I X");
    }
}
