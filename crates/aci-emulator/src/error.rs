//! Errors: the ARM error envelope the emulator answers with, and the library's own errors.
//!
//! Codes marked UNVERIFIED in `../shared/aci-spec/CONTRACT.md` §6/§11 are plausible names, listed in
//! the crate README; clients must branch on the code, so they are kept stable.

use http::StatusCode;
use serde_json::{Value, json};

/// An ARM error answer: HTTP status plus the `CloudError` envelope `{"error":{code,message,target?}}`.
#[derive(Debug, Clone, PartialEq)]
pub struct ArmError {
    /// HTTP status.
    pub status: StatusCode,
    /// `error.code`.
    pub code: String,
    /// `error.message`.
    pub message: String,
    /// `error.target`, the property in error when known.
    pub target: Option<String>,
    /// Seconds for a `Retry-After` header (429 and some 5xx).
    pub retry_after: Option<u64>,
}

impl ArmError {
    /// A new error with status, code and message.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        ArmError {
            status,
            code: code.into(),
            message: message.into(),
            target: None,
            retry_after: None,
        }
    }

    /// 400 with the given code.
    pub fn bad_request(code: &str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Sets `error.target`.
    #[must_use]
    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    /// Sets a `Retry-After` header value in seconds.
    #[must_use]
    pub fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// The `CloudError` body.
    pub fn body(&self) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let (Some(target), Some(obj)) = (&self.target, error.as_object_mut()) {
            obj.insert("target".into(), Value::String(target.clone()));
        }
        json!({ "error": error })
    }

    /// ARM's answer for a missing `api-version`.
    pub fn missing_api_version() -> Self {
        Self::bad_request(
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )
    }

    /// ARM's answer for an api-version the resource type does not support.
    pub fn invalid_api_version(given: &str, supported: &[String]) -> Self {
        Self::bad_request(
            "InvalidApiVersionParameter",
            format!(
                "The api-version '{given}' is invalid. The supported versions are '{}'.",
                supported.join(",")
            ),
        )
    }

    /// ARM's answer for a well-formed api-version the resource type does not have (the
    /// well-known front-door message; the exact text varies by region list).
    pub fn no_registered_provider(
        given: &str,
        location: &str,
        resource_type: &str,
        supported: &[String],
    ) -> Self {
        Self::bad_request(
            "NoRegisteredProviderFound",
            format!(
                "No registered resource provider found for location '{location}' and API version '{given}' for type '{resource_type}'. The supported api-versions are '{}'. The supported locations are '{location}'.",
                supported.join(", ")
            ),
        )
    }

    /// ARM's answer for a region the resource type is not offered in (message shape from public
    /// captures, e.g. Azure/acr#406).
    pub fn location_not_available(location: &str, resource_type: &str, available: &[String]) -> Self {
        Self::bad_request(
            "LocationNotAvailableForResourceType",
            format!(
                "The provided location '{location}' is not available for resource type '{resource_type}'. List of available regions for the resource type is '{}'.",
                available.join(",")
            ),
        )
        .with_target("location")
    }

    /// 404 for any ARM resource that does not exist (`type` is e.g. `Microsoft.StandbyPool/standbyContainerGroupPools`).
    pub fn resource_not_found(resource_type: &str, rg: &str, name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!(
                "The Resource '{resource_type}/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    }

    /// 404 for a container group that does not exist (ARM front door text).
    pub fn group_not_found(rg: &str, name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            format!(
                "The Resource 'Microsoft.ContainerInstance/containerGroups/{name}' under resource group \
                 '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
            ),
        )
    }

    /// 404 for a path the emulator does not serve.
    pub fn no_route(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "InvalidResourceType",
            format!("The resource type could not be found for the request path '{path}'."),
        )
    }

    /// 405 for a known path with an unsupported method.
    pub fn method_not_allowed(method: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            format!("The requested resource does not support http method '{method}'."),
        )
    }

    /// 400 for a body that is not valid JSON or not the right shape.
    pub fn invalid_content(detail: impl std::fmt::Display) -> Self {
        Self::bad_request(
            "InvalidRequestContent",
            format!("The request content was invalid and could not be deserialized: '{detail}'."),
        )
    }

    /// 500 as ACI reports internal errors (retryable).
    pub fn internal(request_id: &str) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            format!(
                "Encountered an internal server error. The tracking activity id is '{request_id}', \
                 correlation id is '{request_id}'."
            ),
        )
    }

    /// 503, transient.
    pub fn service_unavailable_transient() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "The service is temporarily unavailable. Please try again later.",
        )
        .with_retry_after(1)
    }
}

/// Errors of the emulator library itself (not answers to clients).
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The bound socket has no local address.
    #[error("cannot read the local address of the listener: {0}")]
    LocalAddr(#[source] std::io::Error),
    /// The server task failed.
    #[error("server failed: {0}")]
    Serve(#[source] std::io::Error),
    /// The TLS certificate or key could not be loaded or generated.
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// The server task panicked or was cancelled.
    #[error("server task ended abnormally: {0}")]
    Join(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_has_code_message_and_optional_target() {
        let e = ArmError::bad_request("InvalidOsType", "bad").with_target("properties.osType");
        assert_eq!(
            e.body(),
            json!({"error": {"code": "InvalidOsType", "message": "bad", "target": "properties.osType"}})
        );
        let e = ArmError::missing_api_version();
        assert_eq!(e.body()["error"].as_object().map(|o| o.len()), Some(2));
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
    }
}
