//! Everything that can go wrong before or while simulating. Each message
//! names what to fix; none of them is a panic.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("scenario {origin}: {message}")]
    Scenario { origin: String, message: String },
    #[error("scenario {origin}: the policy is invalid:\n{}", messages.iter().map(|m| format!("  {m}")).collect::<Vec<_>>().join("\n"))]
    Policy { origin: String, messages: Vec<String> },
    #[error("trace {path}:{line}: {message}")]
    TraceLine {
        path: String,
        line: u64,
        message: String,
    },
    #[error("trace {path}: {message}")]
    Trace { path: String, message: String },
    #[error("demand: {0}")]
    Demand(String),
    #[error("report: {0}")]
    Report(String),
}

impl SimError {
    pub(crate) fn scenario(origin: &str, message: impl Into<String>) -> Self {
        SimError::Scenario {
            origin: origin.to_string(),
            message: message.into(),
        }
    }
}
