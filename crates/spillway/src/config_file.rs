//! `--config FILE`: the configuration from a file instead of the ConfigMap,
//! re-read when it changes. Like the ConfigMap source, a bad document is
//! reported and the last good one stays in effect.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use spillway_core::config::{self, ConfigError, LoadedConfig, MAX_DOCUMENT_BYTES};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use spillway_controller::status::StatusBoard;

/// Receivers for the configuration in effect, the validity flag and the
/// latest document's errors (a rejected document's too: `/status` shows them).
pub struct FileConfig {
    pub config: watch::Receiver<Option<Arc<LoadedConfig>>>,
    pub valid: watch::Receiver<bool>,
    pub errors: watch::Receiver<Vec<ConfigError>>,
}

/// Reads a document, bounded; any problem is a [`ConfigError`] list.
pub fn read(path: &Path) -> Result<LoadedConfig, Vec<ConfigError>> {
    use std::io::Read;
    let file = std::fs::File::open(path)
        .map_err(|e| vec![ConfigError::new("", format!("{}: {e}", path.display()))])?;
    let mut text = String::new();
    file.take(MAX_DOCUMENT_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| vec![ConfigError::new("", format!("{}: {e}", path.display()))])?;
    config::load(&text).map_err(|e| e.errors)
}

/// Loads `path` now (an error if it has never been valid) and then polls it
/// every `every`, publishing each good version.
pub fn watch_file(
    path: PathBuf,
    every: Duration,
    cancel: CancellationToken,
) -> Result<FileConfig, Vec<ConfigError>> {
    let first = read(&path)?;
    let first_valid = first.is_fully_valid();
    let (errors_tx, errors) = watch::channel(first.errors().cloned().collect::<Vec<_>>());
    let (config_tx, config) = watch::channel(Some(Arc::new(first)));
    let (valid_tx, valid) = watch::channel(first_valid);
    tokio::spawn(async move {
        let mut seen = stamp(&path);
        let mut ticker = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = ticker.tick() => {}
            }
            let now = stamp(&path);
            if now == seen {
                continue;
            }
            seen = now;
            match read(&path) {
                Ok(loaded) => {
                    let _ = errors_tx.send(loaded.errors().cloned().collect());
                    let errors: Vec<String> = loaded.errors().map(|e| e.to_string()).collect();
                    if errors.is_empty() {
                        info!(file = %path.display(), "configuration reloaded");
                    } else {
                        warn!(file = %path.display(), errors = %errors.join("; "), "configuration reloaded; some policies are disabled");
                    }
                    let _ = valid_tx.send(errors.is_empty());
                    let _ = config_tx.send(Some(Arc::new(loaded)));
                }
                Err(errors) => {
                    let text: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
                    error!(file = %path.display(), errors = %text.join("; "), "configuration rejected; the last good one stays in effect");
                    let _ = valid_tx.send(false);
                    let _ = errors_tx.send(errors);
                }
            }
        }
    });
    Ok(FileConfig {
        config,
        valid,
        errors,
    })
}

/// Keeps `/status`'s `configErrors` on the latest document, also when it was
/// rejected (the controller only sees documents that load).
pub fn report_errors(
    mut errors: watch::Receiver<Vec<ConfigError>>,
    status: Arc<StatusBoard>,
    cancel: CancellationToken,
) {
    tokio::spawn(async move {
        loop {
            let latest = errors.borrow_and_update().clone();
            status.set_config(false, latest);
            tokio::select! {
                _ = cancel.cancelled() => break,
                r = errors.changed() => if r.is_err() { break },
            }
        }
    });
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}
