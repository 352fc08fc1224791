//! Sealing secrets at rest: AES-256-GCM with a key derived (HKDF-SHA256)
//! from the installation's secret key, a fresh random nonce per seal, and
//! optional associated data that binds a sealed value to where it belongs
//! (it then opens only with the same associated data).

use base64::{Engine, engine::general_purpose::STANDARD};
use ring::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    hkdf,
};

use crate::DomainError;

pub struct Vault {
    key: LessSafeKey,
}

impl Vault {
    /// A vault for `purpose`: different purposes get unrelated keys.
    pub fn new(secret_key: &[u8; 32], purpose: &str) -> Vault {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"switchyard").extract(secret_key);
        let info = [purpose.as_bytes()];
        let okm = prk
            .expand(&info, &AES_256_GCM)
            .expect("HKDF can produce one AES-256 key");
        let key: UnboundKey = okm.into();
        Vault {
            key: LessSafeKey::new(key),
        }
    }

    pub fn seal(&self, plaintext: &[u8]) -> Result<String, DomainError> {
        self.seal_bound(plaintext, &[])
    }

    pub fn open(&self, sealed: &str) -> Result<Vec<u8>, DomainError> {
        self.open_bound(sealed, &[])
    }

    /// Seals `plaintext` so that it opens only with the same `bound_to`.
    pub fn seal_bound(&self, plaintext: &[u8], bound_to: &[u8]) -> Result<String, DomainError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| DomainError::Internal(e.to_string()))?;
        let mut sealed = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(bound_to),
                &mut sealed,
            )
            .map_err(|_| DomainError::Internal("could not encrypt".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(STANDARD.encode(out))
    }

    pub fn open_bound(&self, sealed: &str, bound_to: &[u8]) -> Result<Vec<u8>, DomainError> {
        let broken = || {
            DomainError::Internal(
                "stored secrets cannot be decrypted (was the secret key changed?)".into(),
            )
        };
        let bytes = STANDARD.decode(sealed).map_err(|_| broken())?;
        if bytes.len() < NONCE_LEN {
            return Err(broken());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| broken())?;
        let mut buffer = ciphertext.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(bound_to), &mut buffer)
            .map_err(|_| broken())?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_the_same_key() {
        let vault = Vault::new(&[7; 32], "connections");
        let sealed = vault.seal(b"sk_live_123").unwrap();
        assert!(!sealed.contains("sk_live"));
        assert_eq!(vault.open(&sealed).unwrap(), b"sk_live_123");
        assert_ne!(
            vault.seal(b"sk_live_123").unwrap(),
            sealed,
            "every seal has its own nonce"
        );
        assert!(Vault::new(&[8; 32], "connections").open(&sealed).is_err());
        assert!(Vault::new(&[7; 32], "other purpose").open(&sealed).is_err());
        let mut tampered = STANDARD.decode(&sealed).unwrap();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(vault.open(&STANDARD.encode(tampered)).is_err());
    }

    #[test]
    fn item9_bound_values_open_only_where_they_were_sealed() {
        let vault = Vault::new(&[7; 32], "workflow secrets v1");
        let sealed = vault
            .seal_bound(b"tok", b"workflow A, /auth/token")
            .unwrap();
        assert_eq!(
            vault
                .open_bound(&sealed, b"workflow A, /auth/token")
                .unwrap(),
            b"tok"
        );
        assert!(
            vault
                .open_bound(&sealed, b"workflow B, /auth/token")
                .is_err()
        );
        assert!(vault.open(&sealed).is_err(), "nor without binding");
    }
}
