//! Values the spec marks `x-ms-secret`: sent, never printed.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret string in a request body (`secureValue`, registry `password`,
/// secret volume contents). Serialises as the plain string; `Debug` redacts.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecureString(String);

impl SecureString {
    pub fn new(v: impl Into<String>) -> Self {
        SecureString(v.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecureString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}
