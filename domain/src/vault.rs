//! Sealing secrets at rest: AES-256-GCM with a key derived (HKDF-SHA256)
//! from the installation's secret key, a fresh random nonce per seal, and
//! associated data that binds a sealed value to where it belongs (it then
//! opens only with the same associated data, so a value copied to another
//! record or field is useless there).
//!
//! A sealed value reads `v3:<key id>:<base64 of nonce and ciphertext>`. The
//! key id (8 hex digits) names the installation key, not the purpose, so one
//! key has the same id in every table; it lets a vault that knows previous
//! keys as well as the current one pick the right key while a rotation
//! re-seals everything under the new one. Values sealed before key ids
//! existed are bare base64 ("legacy"): they still open, with whatever
//! associated data their owner used then, and are sealed anew on save or
//! rotation.

use base64::{Engine, engine::general_purpose::STANDARD};
use ring::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    hkdf,
};

use crate::DomainError;

/// The version prefix of values that carry a key id.
const VERSION: &str = "v3";
/// Bytes of the key id (shown as twice as many hex digits).
const KEY_ID_LEN: usize = 4;

/// The purposes vaults are made for, each with its own derived key.
pub mod purpose {
    /// Connections' secrets.
    pub const CONNECTIONS: &str = "connections v1";
    /// Secrets written into workflows, and registered webhooks' signing secrets.
    pub const WORKFLOW_SECRETS: &str = "workflow secrets v1";
    /// Notification channels' settings (Slack URLs, signing secrets).
    pub const NOTIFICATION_CHANNELS: &str = "notification channels v1";
}

/// The installation's current secret key and the previous ones whose
/// sealed values are still opened. `Debug` never shows them.
#[derive(Clone)]
pub struct Keyring {
    current: [u8; 32],
    previous: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Keyring(current {}, previous {:?})",
            self.key_id(),
            self.previous_ids()
        )
    }
}

impl Keyring {
    pub fn new(current: [u8; 32], previous: Vec<[u8; 32]>) -> Keyring {
        Keyring { current, previous }
    }

    /// A vault for `purpose` that seals with the current key.
    pub fn vault(&self, purpose: &str) -> Vault {
        Vault::with_previous(&self.current, &self.previous, purpose)
    }

    /// The id of the current key.
    pub fn key_id(&self) -> String {
        Vault::key_id_of(&self.current)
    }

    pub fn previous_ids(&self) -> Vec<String> {
        self.previous.iter().map(Vault::key_id_of).collect()
    }
}

/// Why a sealed value did not open. The messages never hold the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error(
        "it was sealed under key {0}, which is neither the current secret key nor a previous one"
    )]
    UnknownKey(String),
    #[error("it does not open with its key: it was sealed for another record or field, or altered")]
    WrongPlace,
    #[error("it was stored before key ids and opens with none of the configured keys")]
    LegacyUnopened,
    #[error("it is not a sealed value")]
    Malformed,
    #[error("it could not be encrypted")]
    Encrypt,
}

impl From<SealError> for DomainError {
    fn from(error: SealError) -> Self {
        DomainError::Internal(format!("a stored secret cannot be used: {error}"))
    }
}

struct VaultKey {
    id: String,
    key: LessSafeKey,
}

/// Seals with the current key; opens with it or any previous key.
pub struct Vault {
    /// The current key first, then the previous ones.
    keys: Vec<VaultKey>,
}

/// An output length for HKDF.
struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

fn prk(secret_key: &[u8; 32]) -> hkdf::Prk {
    hkdf::Salt::new(hkdf::HKDF_SHA256, b"switchyard").extract(secret_key)
}

fn derive(secret_key: &[u8; 32], purpose: &str) -> VaultKey {
    let info = [purpose.as_bytes()];
    let prk = prk(secret_key);
    let okm = prk
        .expand(&info, &AES_256_GCM)
        .expect("HKDF can produce one AES-256 key");
    let key: UnboundKey = okm.into();
    VaultKey {
        id: Vault::key_id_of(secret_key),
        key: LessSafeKey::new(key),
    }
}

impl Vault {
    /// A vault for `purpose` with one key: different purposes get unrelated keys.
    pub fn new(secret_key: &[u8; 32], purpose: &str) -> Vault {
        Vault::with_previous(secret_key, &[], purpose)
    }

    /// A vault that seals with `current` and also opens what `previous`
    /// keys sealed (during and before a key rotation).
    pub fn with_previous(current: &[u8; 32], previous: &[[u8; 32]], purpose: &str) -> Vault {
        Vault {
            keys: std::iter::once(current)
                .chain(previous)
                .map(|key| derive(key, purpose))
                .collect(),
        }
    }

    /// The id that values sealed under `secret_key` carry: 8 hex digits
    /// derived (HKDF, its own label) from the key, which tell nothing of it.
    pub fn key_id_of(secret_key: &[u8; 32]) -> String {
        let info = [b"switchyard key id".as_slice()];
        let mut id = [0u8; KEY_ID_LEN];
        prk(secret_key)
            .expand(&info, Len(KEY_ID_LEN))
            .and_then(|okm| okm.fill(&mut id))
            .expect("HKDF can produce 4 bytes");
        id.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The id of the key new values are sealed under.
    pub fn key_id(&self) -> &str {
        &self.keys[0].id
    }

    /// Whether `sealed` is in the current format under the current key,
    /// that is, whether a rotation to this vault's key can leave it.
    pub fn is_current(&self, sealed: &str) -> bool {
        matches!(parse(sealed), Ok(Some((id, _))) if id == self.key_id())
    }

    /// Seals `plaintext` under the current key so that it opens only with
    /// the same `bound_to`.
    pub fn seal(&self, plaintext: &[u8], bound_to: &[u8]) -> Result<String, SealError> {
        let current = &self.keys[0];
        Ok(format!(
            "{VERSION}:{}:{}",
            current.id,
            seal_with(&current.key, plaintext, bound_to)?
        ))
    }

    /// Opens a value sealed with `bound_to`. A legacy value (bare base64,
    /// sealed before key ids) is opened with `legacy_bound_to`, the
    /// associated data its owner used then, under any configured key.
    pub fn open(
        &self,
        sealed: &str,
        bound_to: &[u8],
        legacy_bound_to: &[u8],
    ) -> Result<Vec<u8>, SealError> {
        match parse(sealed)? {
            Some((id, body)) => {
                let mut keys = self.keys.iter().filter(|k| k.id == id).peekable();
                if keys.peek().is_none() {
                    return Err(SealError::UnknownKey(id.to_owned()));
                }
                // Two keys sharing an id (1 in 4 billion) are both tried.
                keys.find_map(|k| open_with(&k.key, body, bound_to).ok())
                    .ok_or(SealError::WrongPlace)
            }
            None => self
                .keys
                .iter()
                .find_map(|k| open_with(&k.key, sealed, legacy_bound_to).ok())
                .ok_or(SealError::LegacyUnopened),
        }
    }

    /// Seals the way values were sealed before key ids: for tests of how
    /// such values are still read.
    #[cfg(test)]
    pub(crate) fn seal_legacy(&self, plaintext: &[u8], bound_to: &[u8]) -> String {
        seal_with(&self.keys[0].key, plaintext, bound_to).expect("sealing works")
    }
}

/// `Some((key id, body))` for a versioned value, `None` for a legacy one.
/// Base64 has no `:`, so the two cannot be confused.
fn parse(sealed: &str) -> Result<Option<(&str, &str)>, SealError> {
    if !sealed.contains(':') {
        return Ok(None);
    }
    let mut parts = sealed.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(VERSION), Some(id), Some(body)) if id.len() == 2 * KEY_ID_LEN => Ok(Some((id, body))),
        _ => Err(SealError::Malformed),
    }
}

fn seal_with(key: &LessSafeKey, plaintext: &[u8], bound_to: &[u8]) -> Result<String, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::fill(&mut nonce).map_err(|_| SealError::Encrypt)?;
    let mut sealed = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(nonce),
        Aad::from(bound_to),
        &mut sealed,
    )
    .map_err(|_| SealError::Encrypt)?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(STANDARD.encode(out))
}

fn open_with(key: &LessSafeKey, body: &str, bound_to: &[u8]) -> Result<Vec<u8>, SealError> {
    let bytes = STANDARD.decode(body).map_err(|_| SealError::Malformed)?;
    if bytes.len() < NONCE_LEN {
        return Err(SealError::Malformed);
    }
    let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Malformed)?;
    let mut buffer = ciphertext.to_vec();
    let plain = key
        .open_in_place(nonce, Aad::from(bound_to), &mut buffer)
        .map_err(|_| SealError::WrongPlace)?;
    Ok(plain.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: [u8; 32] = [7; 32];
    const B: [u8; 32] = [8; 32];

    #[test]
    fn sealed_secrets_open_only_with_the_same_key() {
        let vault = Vault::new(&A, "connections");
        let sealed = vault.seal(b"sk_live_123", b"here").unwrap();
        assert!(!sealed.contains("sk_live"));
        assert_eq!(vault.open(&sealed, b"here", b"").unwrap(), b"sk_live_123");
        assert_ne!(
            vault.seal(b"sk_live_123", b"here").unwrap(),
            sealed,
            "every seal has its own nonce"
        );
        assert_eq!(
            Vault::new(&B, "connections").open(&sealed, b"here", b""),
            Err(SealError::UnknownKey(Vault::key_id_of(&A)))
        );
        assert_eq!(
            Vault::new(&A, "other purpose").open(&sealed, b"here", b""),
            Err(SealError::WrongPlace)
        );
        let (head, body) = sealed.rsplit_once(':').unwrap();
        let mut tampered = STANDARD.decode(body).unwrap();
        *tampered.last_mut().unwrap() ^= 1;
        let tampered = format!("{head}:{}", STANDARD.encode(tampered));
        assert!(vault.open(&tampered, b"here", b"").is_err());
        assert_eq!(
            vault.open("v9:xx:yy", b"here", b""),
            Err(SealError::Malformed)
        );
    }

    #[test]
    fn item14_sealed_values_carry_the_key_id() {
        let id = Vault::key_id_of(&A);
        assert_eq!(id.len(), 8);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(id, Vault::key_id_of(&B));
        let vault = Vault::new(&A, "connections v1");
        assert_eq!(vault.key_id(), id);
        assert_eq!(
            Vault::new(&A, "workflow secrets v1").key_id(),
            id,
            "one key, one id, whatever the purpose"
        );
        let sealed = vault.seal(b"s", b"").unwrap();
        assert!(sealed.starts_with(&format!("v3:{id}:")), "{sealed}");
        assert!(vault.is_current(&sealed));
        assert!(!Vault::new(&B, "connections v1").is_current(&sealed));
        assert!(!vault.is_current(&vault.seal_legacy(b"s", b"")));
    }

    #[test]
    fn item14_previous_keys_open_and_the_current_one_seals() {
        let old = Vault::new(&A, "connections v1");
        let sealed = old.seal(b"tok", b"row 1").unwrap();
        let legacy = old.seal_legacy(b"legacy", b"");
        let rotated = Vault::with_previous(&B, &[A], "connections v1");
        assert_eq!(rotated.key_id(), Vault::key_id_of(&B));
        assert_eq!(rotated.open(&sealed, b"row 1", b"").unwrap(), b"tok");
        assert_eq!(rotated.open(&legacy, b"row 1", b"").unwrap(), b"legacy");
        assert!(!rotated.is_current(&sealed));
        let resealed = rotated.seal(b"tok", b"row 1").unwrap();
        assert!(rotated.is_current(&resealed));
        assert_eq!(
            old.open(&resealed, b"row 1", b""),
            Err(SealError::UnknownKey(Vault::key_id_of(&B))),
            "the old key alone does not open what the new one sealed"
        );
        assert_eq!(
            Vault::new(&B, "connections v1").open(&legacy, b"row 1", b""),
            Err(SealError::LegacyUnopened)
        );
    }

    #[test]
    fn item14_a_value_moved_to_another_record_does_not_open() {
        let vault = Vault::new(&A, "connections v1");
        let sealed = vault.seal(b"tok", b"connection:1:secrets").unwrap();
        assert_eq!(
            vault.open(&sealed, b"connection:2:secrets", b""),
            Err(SealError::WrongPlace)
        );
        assert!(
            vault.open(&sealed, b"", b"").is_err(),
            "nor without binding"
        );
        // Stripping the prefix to pass it off as legacy does not help:
        // it was sealed with its binding, and legacy values open without.
        let body = sealed.rsplit_once(':').unwrap().1;
        assert_eq!(
            vault.open(body, b"connection:2:secrets", b""),
            Err(SealError::LegacyUnopened)
        );
    }
}
