//! WAMP-Cryptosign: the client proves it holds an Ed25519 key by signing the router's
//! 32-byte challenge. The answer is hex of the 64-byte signature followed by the
//! challenge (96 bytes), as Crossbar.io and Autobahn expect.

use std::fmt;

use ed25519_dalek::Signer as _;

use super::AuthError;

/// An Ed25519 private key. `Debug` shows only the public key.
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// From the 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// From the seed in hex (64 hex digits; surrounding whitespace ignored).
    pub fn from_hex(hex_seed: &str) -> Result<Self, AuthError> {
        let bytes = hex::decode(hex_seed.trim())
            .map_err(|e| AuthError::BadKey(format!("seed is not hex: {e}")))?;
        let seed: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            AuthError::BadKey(format!("seed must be 32 bytes, got {}", b.len()))
        })?;
        Ok(Self::from_seed(seed))
    }

    /// The public key in hex, as sent in `authextra.pubkey`.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.0.verifying_key().as_bytes())
    }

    /// Answers a challenge given in hex.
    pub fn sign_challenge(&self, challenge_hex: &str) -> Result<String, AuthError> {
        let bad = |reason: String| AuthError::BadChallenge {
            method: "cryptosign",
            reason,
        };
        let challenge =
            hex::decode(challenge_hex).map_err(|e| bad(format!("challenge is not hex: {e}")))?;
        if challenge.len() != 32 {
            return Err(bad(format!(
                "challenge must be 32 bytes, got {}",
                challenge.len()
            )));
        }
        let signature = self.0.sign(&challenge);
        let mut out = signature.to_bytes().to_vec();
        out.extend_from_slice(&challenge);
        Ok(hex::encode(out))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(public {})", self.public_key_hex())
    }
}

/// Checks a Cryptosign answer against a public key (hex) and the challenge (hex).
pub fn verify(public_key_hex: &str, challenge_hex: &str, signature_hex: &str) -> bool {
    let (Ok(pk), Ok(sig), Ok(challenge)) = (
        hex::decode(public_key_hex),
        hex::decode(signature_hex),
        hex::decode(challenge_hex),
    ) else {
        return false;
    };
    let (Ok(pk), true) = (<[u8; 32]>::try_from(pk.as_slice()), sig.len() == 96) else {
        return false;
    };
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&pk) else {
        return false;
    };
    let Ok(sig_bytes) = <[u8; 64]>::try_from(&sig[..64]) else {
        return false;
    };
    sig[64..] == challenge[..]
        && key
            .verify_strict(
                &challenge,
                &ed25519_dalek::Signature::from_bytes(&sig_bytes),
            )
            .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let key = SigningKey::from_seed([7; 32]);
        let challenge = hex::encode([9u8; 32]);
        let answer = key.sign_challenge(&challenge).expect("sign");
        assert_eq!(answer.len(), 192);
        assert!(verify(&key.public_key_hex(), &challenge, &answer));
        assert!(!verify(
            &key.public_key_hex(),
            &hex::encode([8u8; 32]),
            &answer
        ));
        assert!(key.sign_challenge("zz").is_err());
        assert!(SigningKey::from_hex("abcd").is_err());
        assert!(!format!("{key:?}").contains(&hex::encode([7u8; 32])));
    }
}
