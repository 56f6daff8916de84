//! Key material, one key per purpose (see docs/security.md). Production takes every key
//! from settings (`*_key`, 64 hex characters) or from a keys file the operator wrote;
//! dev mode generates missing keys once into a 0600 file beside the database, so a
//! restart never makes stored data unreadable.

use crate::settings::{Mode, Settings};
use anyhow::{bail, Context, Result};
use offboard_core::crypto::SecretKey;
use offboard_server::Keys;
use secrecy::{ExposeSecret, SecretString};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every key the server uses, by its name in the keys file.
pub const KEY_NAMES: [&str; 6] = [
    "blind_index",
    "document",
    "retention",
    "captcha",
    "webhook",
    "secrets",
];

/// Where dev keys live: the `keys_file` setting, else `<sqlite file>.keys`, else
/// `offboard.keys` in the working directory.
pub fn keys_path(settings: &Settings) -> PathBuf {
    if let Some(path) = &settings.keys_file {
        return path.clone();
    }
    let sqlite_path = settings
        .database_url
        .strip_prefix("sqlite://")
        .or_else(|| settings.database_url.strip_prefix("sqlite:"))
        .map(|p| p.split('?').next().unwrap_or(p));
    match sqlite_path {
        Some(p) if !p.is_empty() && !p.contains(":memory:") => PathBuf::from(format!("{p}.keys")),
        _ => PathBuf::from("offboard.keys"),
    }
}

fn from_settings<'a>(settings: &'a Settings, name: &str) -> Option<&'a SecretString> {
    match name {
        "blind_index" => settings.blind_index_key.as_ref(),
        "document" => settings.document_key.as_ref(),
        "retention" => settings.retention_key.as_ref(),
        "captcha" => settings.captcha_key.as_ref(),
        "webhook" => settings.webhook_key.as_ref(),
        "secrets" => settings.secrets_key.as_ref(),
        _ => None,
    }
}

pub fn load(settings: &Settings) -> Result<Keys> {
    let path = keys_path(settings);
    let all_in_settings = KEY_NAMES
        .iter()
        .all(|name| from_settings(settings, name).is_some());
    let mut file: BTreeMap<String, String> = if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading keys file {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "keys file {} is not a JSON object of hex keys",
                path.display()
            )
        })?
    } else if settings.mode == Mode::Production && !all_in_settings {
        bail!(
            "setting `keys_file`: {} does not exist and not every key is set (`blind_index_key`, `document_key`, `retention_key`, `captcha_key`, `webhook_key`, `secrets_key`); production mode does not generate keys",
            path.display()
        );
    } else {
        BTreeMap::new()
    };
    let mut changed = false;
    let mut keys = BTreeMap::new();
    for name in KEY_NAMES {
        let key = if let Some(text) = from_settings(settings, name) {
            SecretKey::from_hex(text.expose_secret())
                .with_context(|| format!("setting `{name}_key` must be 64 hex characters"))?
        } else if let Some(text) = file.get(name) {
            SecretKey::from_hex(text).with_context(|| {
                format!(
                    "keys file {}: `{name}` must be 64 hex characters",
                    path.display()
                )
            })?
        } else if settings.mode == Mode::Production {
            bail!(
                "keys file {} has no `{name}` key (or set `{name}_key`)",
                path.display()
            );
        } else {
            let key = SecretKey::generate();
            file.insert(name.to_owned(), key.to_hex().to_string());
            changed = true;
            key
        };
        keys.insert(name, key);
    }
    if changed {
        write_private(&path, &serde_json::to_string_pretty(&file)?)?;
        tracing::info!(path = %path.display(), "generated dev keys (kept so restarts can read stored data)");
    }
    let mut take = |name: &str| keys.remove(name).context("every key is loaded above");
    Ok(Keys {
        blind_index: take("blind_index")?,
        document: take("document")?,
        retention: take("retention")?,
        captcha: take("captcha")?,
        webhook: take("webhook")?,
        secrets: take("secrets")?,
    })
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(path)
        .with_context(|| format!("writing keys file {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_keys_are_generated_once_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("x.db");
        let settings = Settings {
            database_url: format!("sqlite://{}", db.display()),
            ..Settings::default()
        };
        let first = load(&settings).unwrap();
        let second = load(&settings).unwrap();
        assert_eq!(first.blind_index.bytes(), second.blind_index.bytes());
        assert_eq!(first.document.bytes(), second.document.bytes());
        assert_ne!(
            first.blind_index.bytes(),
            first.document.bytes(),
            "one key per purpose"
        );
        let path = keys_path(&settings);
        assert_eq!(path, dir.path().join("x.db.keys"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn production_never_generates() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings {
            mode: Mode::Production,
            keys_file: Some(dir.path().join("missing.keys")),
            ..Settings::default()
        };
        assert!(load(&settings).is_err());
        assert!(!dir.path().join("missing.keys").exists());
        let partial = Settings {
            blind_index_key: Some(SecretString::from("ab".repeat(32))),
            ..settings
        };
        assert!(load(&partial).is_err(), "one key is not all keys");
    }

    #[test]
    fn production_takes_keys_from_settings() {
        let hex = |c: &str| Some(SecretString::from(c.repeat(64)));
        let settings = Settings {
            mode: Mode::Production,
            keys_file: Some(PathBuf::from("/nonexistent/offboard.keys")),
            blind_index_key: hex("a"),
            document_key: hex("b"),
            retention_key: hex("c"),
            captcha_key: hex("d"),
            webhook_key: hex("e"),
            secrets_key: hex("f"),
            ..Settings::default()
        };
        let keys = load(&settings).unwrap();
        assert_eq!(keys.document.bytes(), &[0xbb; 32]);
    }
}
