//! Why a pod template cannot become a container group, naming the field.

/// Every variant carries the field path in the pod template
/// (`spec.containers[0].volumeMounts[1].subPath`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// Meaningful in Kubernetes, but ACI has no way to express it.
    #[error("{path}: ACI cannot express this: {reason}")]
    Unsupported { path: String, reason: String },
    /// The template itself is not valid (bad quantity, missing image, ...).
    #[error("{path}: invalid: {reason}")]
    Invalid { path: String, reason: String },
    /// A referenced Secret, ConfigMap or key could not be resolved.
    #[error("{path}: unresolved reference: {reason}")]
    Unresolved { path: String, reason: String },
    /// Beyond ACI's per-group maxima (CPU, memory, ports, volumes, containers).
    #[error("{path}: too large for one container group: {reason}")]
    TooLarge { path: String, reason: String },
}

impl TranslateError {
    pub fn path(&self) -> &str {
        match self {
            TranslateError::Unsupported { path, .. }
            | TranslateError::Invalid { path, .. }
            | TranslateError::Unresolved { path, .. }
            | TranslateError::TooLarge { path, .. } => path,
        }
    }

    /// Every value [`TranslateError::metric_label`] returns.
    pub const LABELS: &'static [&'static str] = &["unsupported", "invalid", "unresolved", "too_large"];

    pub fn metric_label(&self) -> &'static str {
        match self {
            TranslateError::Unsupported { .. } => "unsupported",
            TranslateError::Invalid { .. } => "invalid",
            TranslateError::Unresolved { .. } => "unresolved",
            TranslateError::TooLarge { .. } => "too_large",
        }
    }
}

pub(crate) fn unsupported(path: impl Into<String>, reason: impl Into<String>) -> TranslateError {
    TranslateError::Unsupported {
        path: path.into(),
        reason: reason.into(),
    }
}

pub(crate) fn invalid(path: impl Into<String>, reason: impl Into<String>) -> TranslateError {
    TranslateError::Invalid {
        path: path.into(),
        reason: reason.into(),
    }
}

pub(crate) fn unresolved(path: impl Into<String>, reason: impl Into<String>) -> TranslateError {
    TranslateError::Unresolved {
        path: path.into(),
        reason: reason.into(),
    }
}

pub(crate) fn too_large(path: impl Into<String>, reason: impl Into<String>) -> TranslateError {
    TranslateError::TooLarge {
        path: path.into(),
        reason: reason.into(),
    }
}
