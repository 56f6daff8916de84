//! Key material. Production takes keys from settings (or a keys file the operator
//! wrote); dev mode generates them once into a 0600 file beside the database, so a
//! restart never makes stored data unreadable.

use crate::settings::{Mode, Settings};
use anyhow::{bail, Context, Result};
use offboard_core::crypto::SecretKey;
use offboard_server::Keys;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Serialize, Deserialize, Default)]
struct KeysFile {
    blind_index: Option<String>,
}

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

pub fn load(settings: &Settings) -> Result<Keys> {
    let path = keys_path(settings);
    let from_settings = settings
        .blind_index_key
        .as_ref()
        .and_then(|k| SecretKey::from_hex(k.expose_secret()));
    if let Some(blind_index) = from_settings {
        return Ok(Keys { blind_index });
    }
    let mut file: KeysFile = if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading keys file {}", path.display()))?;
        serde_json::from_str(&text)
            .with_context(|| format!("keys file {} is not valid JSON", path.display()))?
    } else if settings.mode == Mode::Production {
        bail!(
            "setting `keys_file`: {} does not exist; production mode does not generate keys",
            path.display()
        );
    } else {
        KeysFile::default()
    };
    let mut changed = false;
    let blind_index = match file.blind_index.as_deref().map(SecretKey::from_hex) {
        Some(Some(key)) => key,
        Some(None) => bail!(
            "keys file {}: `blind_index` must be 64 hex characters",
            path.display()
        ),
        None if settings.mode == Mode::Production => {
            bail!("keys file {} has no `blind_index` key", path.display())
        }
        None => {
            let key = SecretKey::generate();
            file.blind_index = Some(key.to_hex().to_string());
            changed = true;
            key
        }
    };
    if changed {
        write_private(&path, &serde_json::to_string_pretty(&file)?)?;
        tracing::info!(path = %path.display(), "generated dev keys (kept so restarts can read stored data)");
    }
    Ok(Keys { blind_index })
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
    }
}
