//! WAMP-CRA: `base64(HMAC-SHA256(key, challenge))`, where the key is the secret itself,
//! or for salted users `base64(PBKDF2-HMAC-SHA256(secret, salt, iterations, keylen))`
//! (the base64 *text* is the key, as Autobahn and Crossbar do it).

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Signs a challenge string with a key.
pub fn sign(key: &[u8], challenge: &str) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(challenge.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Derives the key of a salted user.
pub fn derive_key(secret: &str, salt: &str, iterations: u32, keylen: usize) -> String {
    let mut out = vec![0u8; keylen];
    pbkdf2::pbkdf2_hmac::<Sha256>(secret.as_bytes(), salt.as_bytes(), iterations, &mut out);
    base64::engine::general_purpose::STANDARD.encode(out)
}

/// Checks a signature in constant time.
pub fn verify(key: &[u8], challenge: &str, signature: &str) -> bool {
    use subtle::ConstantTimeEq;
    let expected = sign(key, challenge);
    expected.as_bytes().ct_eq(signature.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // HMAC-SHA256 test vector (RFC 4231, test case 2), base64.
        assert_eq!(
            sign(b"Jefe", "what do ya want for nothing?"),
            "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="
        );
        // PBKDF2-HMAC-SHA256("passwd", "salt", 1, 32), as Python's hashlib computes it, base64.
        assert_eq!(
            derive_key("passwd", "salt", 1, 32),
            "VawEblbjCJ/sFpHCJUS2BflBhSFt3gRl5oudV8INrLw="
        );
        assert!(verify(b"k", "c", &sign(b"k", "c")));
        assert!(!verify(b"k", "c", &sign(b"x", "c")));
    }
}
