//! CrowdSec's `online_api_credentials.yaml` (the file `api.server.online_client.
//! credentials_path` names): the Central API's URL and the watcher's login and password, as
//! `cscli capi register` writes them. hivewall reads it to subscribe to a community feed.

use std::io;
use std::path::Path;

use serde::Deserialize;

use super::{SettingsError, bare_message};

/// The online credentials. Empty strings where the file sets nothing (the file a package
/// ships before `cscli capi register` is empty).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct OnlineCredentials {
    /// The feed's URL (`https://api.crowdsec.net/` for CrowdSec's own).
    pub url: String,
    /// The watcher's login (`machine_id` of the CAPI calls).
    pub login: String,
    /// Its password.
    pub password: String,
}

impl std::fmt::Display for OnlineCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the password.
        write!(f, "login `{}` at `{}`", self.login, self.url)
    }
}

/// Reads the credentials file at `path` (as CrowdSec does: no environment expansion; keys
/// other than `url`, `login` and `password` are ignored).
pub fn load_online_credentials(path: &Path) -> Result<OnlineCredentials, SettingsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(SettingsError::NotFound {
                path: path.to_path_buf(),
            });
        }
        Err(source) => {
            return Err(SettingsError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let parsed: Option<OnlineCredentials> =
        serde_saphyr::from_str(&text).map_err(|e| SettingsError::Yaml {
            path: path.to_path_buf(),
            line: e.location().map_or(0, |l| l.line()),
            column: e.location().map_or(0, |l| l.column()),
            message: bare_message(&e),
        })?;
    let mut c = parsed.unwrap_or_default();
    for v in [&mut c.url, &mut c.login, &mut c.password] {
        *v = v.trim().to_string();
    }
    Ok(c)
}
