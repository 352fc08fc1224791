//! The installation's secret key, used to sign and encrypt what must not be
//! forged or read (sessions, stored credentials, webhook secrets).

use std::{
    fmt,
    fs::{self, OpenOptions},
    io::{ErrorKind, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::Arc,
};

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};

pub const KEY_LEN: usize = 32;
const KEY_FILE: &str = "secret.key";

/// 32 secret bytes. `Debug` never shows them.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(Arc<[u8; KEY_LEN]>);

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<hidden>)")
    }
}

impl SecretKey {
    /// Parses 32 bytes written as base64 (standard or URL-safe) or 64 hex digits.
    pub fn parse(text: &str) -> Result<SecretKey, String> {
        let text = text.trim();
        let bytes = if text.len() == 2 * KEY_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..KEY_LEN)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|e| e.to_string())?
        } else {
            STANDARD
                .decode(text)
                .or_else(|_| URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
                .map_err(|_| "expected 32 bytes as base64 or 64 hex digits".to_owned())?
        };
        let bytes: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|v: Vec<u8>| format!("expected 32 bytes, got {}", v.len()))?;
        Ok(SecretKey(Arc::new(bytes)))
    }

    pub fn generate() -> SecretKey {
        let mut bytes = [0u8; KEY_LEN];
        getrandom::fill(&mut bytes).expect("the operating system provides random bytes");
        SecretKey(Arc::new(bytes))
    }

    pub fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// Loads the key from `<data_dir>/secret.key`, creating it (mode 0600)
    /// on first start. Warns when the file is readable by others.
    pub fn load_or_create(data_dir: &Path) -> Result<SecretKey, String> {
        let path = data_dir.join(KEY_FILE);
        match Self::create_new(&path) {
            Ok(key) => {
                tracing::info!(path = %path.display(), "generated a new secret key");
                return Ok(key);
            }
            Err(error) if error.kind() == ErrorKind::AlreadyExists => {}
            Err(error) => return Err(format!("cannot create {}: {error}", path.display())),
        }
        Self::load(data_dir)
    }

    /// Loads the key from `<data_dir>/secret.key`, which must exist: for
    /// commands that must not make a key of their own.
    pub fn load(data_dir: &Path) -> Result<SecretKey, String> {
        let path = data_dir.join(KEY_FILE);
        let text = fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let key = SecretKey::parse(&text)
            .map_err(|e| format!("{} is not a valid key: {e}", path.display()))?;
        if let Ok(meta) = fs::metadata(&path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "the secret key file is readable by other users; run chmod 600 on it");
        }
        Ok(key)
    }

    /// The keys vaults seal and open with: this one, then `previous`.
    pub fn keyring(&self, previous: &[SecretKey]) -> domain::vault::Keyring {
        domain::vault::Keyring::new(*self.bytes(), previous.iter().map(|k| *k.bytes()).collect())
    }

    fn create_new(path: &PathBuf) -> std::io::Result<SecretKey> {
        let key = SecretKey::generate();
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        file.write_all(STANDARD.encode(key.bytes()).as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_base64_and_hex() {
        let key = SecretKey::generate();
        let b64 = STANDARD.encode(key.bytes());
        assert_eq!(SecretKey::parse(&b64).unwrap(), key);
        assert_eq!(
            SecretKey::parse(&URL_SAFE_NO_PAD.encode(key.bytes())).unwrap(),
            key
        );
        let hex: String = key.bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(SecretKey::parse(&hex).unwrap(), key);
    }

    #[test]
    fn rejects_wrong_lengths_and_garbage() {
        assert!(
            SecretKey::parse("c2hvcnQ=")
                .unwrap_err()
                .contains("32 bytes")
        );
        assert!(SecretKey::parse("not a key!").is_err());
        assert!(SecretKey::parse("").is_err());
    }

    #[test]
    fn debug_hides_the_bytes() {
        assert_eq!(
            format!("{:?}", SecretKey::generate()),
            "SecretKey(<hidden>)"
        );
    }

    #[test]
    fn generated_file_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let first = SecretKey::load_or_create(dir.path()).unwrap();
        let mode = fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(SecretKey::load_or_create(dir.path()).unwrap(), first);
    }

    #[test]
    fn corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(KEY_FILE), "garbage").unwrap();
        let error = SecretKey::load_or_create(dir.path()).unwrap_err();
        assert!(error.contains("secret.key is not a valid key"), "{error}");
    }
}
