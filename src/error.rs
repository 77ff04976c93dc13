//! The one error type. Every failure, from a malformed body to a store fault,
//! becomes an `Error` and is rendered as InfluxDB's envelope
//! `{"code","message"[,"op"][,"err"]}` with the status InfluxDB uses for its code.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;

/// InfluxDB's error codes (`kit/platform/errors/errors.go`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    Invalid,
    EmptyValue,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    RequestTooLarge,
    UnsupportedMediaType,
    Conflict,
    /// A name taken in one of Tessera's own resources (custom roles,
    /// external dashboards): HTTP's 409, where InfluxDB's resources answer
    /// 422.
    AlreadyExists,
    /// A stale `If-Match`: InfluxDB has no such code; the wire says
    /// `conflict` with the status HTTP gives it.
    PreconditionFailed,
    UnprocessableEntity,
    TooManyRequests,
    Internal,
    NotImplemented,
    Unavailable,
}

impl Code {
    /// The wire string and HTTP status of each code, in one table.
    pub fn parts(self) -> (&'static str, StatusCode) {
        match self {
            Code::Invalid => ("invalid", StatusCode::BAD_REQUEST),
            Code::EmptyValue => ("empty value", StatusCode::BAD_REQUEST),
            Code::Unauthorized => ("unauthorized", StatusCode::UNAUTHORIZED),
            Code::Forbidden => ("forbidden", StatusCode::FORBIDDEN),
            Code::NotFound => ("not found", StatusCode::NOT_FOUND),
            Code::MethodNotAllowed => ("method not allowed", StatusCode::METHOD_NOT_ALLOWED),
            Code::RequestTooLarge => ("request too large", StatusCode::PAYLOAD_TOO_LARGE),
            Code::UnsupportedMediaType => {
                ("unsupported media type", StatusCode::UNSUPPORTED_MEDIA_TYPE)
            }
            // InfluxDB sends both as 422.
            Code::Conflict => ("conflict", StatusCode::UNPROCESSABLE_ENTITY),
            Code::AlreadyExists => ("conflict", StatusCode::CONFLICT),
            Code::PreconditionFailed => ("conflict", StatusCode::PRECONDITION_FAILED),
            Code::UnprocessableEntity => ("unprocessable entity", StatusCode::UNPROCESSABLE_ENTITY),
            Code::TooManyRequests => ("too many requests", StatusCode::TOO_MANY_REQUESTS),
            Code::Internal => ("internal error", StatusCode::INTERNAL_SERVER_ERROR),
            Code::NotImplemented => ("not implemented", StatusCode::NOT_IMPLEMENTED),
            Code::Unavailable => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
        }
    }

    pub fn as_str(self) -> &'static str {
        self.parts().0
    }

    pub fn status(self) -> StatusCode {
        self.parts().1
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: Code,
    pub message: String,
    pub op: Option<&'static str>,
    pub err: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            op: None,
            err: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::Invalid, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Code::NotFound, message)
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(Code::Conflict, message)
    }

    pub fn precondition_failed(message: impl Into<String>) -> Self {
        Self::new(Code::PreconditionFailed, message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(Code::Unauthorized, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Code::Forbidden, message)
    }

    /// A fault of ours or of the disk. The detail goes to the log and to `err`;
    /// the message stays generic.
    pub fn internal(detail: impl fmt::Display) -> Self {
        let detail = detail.to_string();
        log::error!("internal error: {detail}");
        Error {
            code: Code::Internal,
            message: "internal error".into(),
            op: None,
            err: Some(detail),
        }
    }

    pub fn with_op(mut self, op: &'static str) -> Self {
        self.op = Some(op);
        self
    }

    pub fn with_err(mut self, err: impl fmt::Display) -> Self {
        self.err = Some(err.to_string());
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)?;
        if let Some(err) = &self.err {
            write!(f, ": {err}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

#[derive(Serialize)]
struct Envelope<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    op: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    err: Option<&'a str>,
}

/// The envelope bytes for an error; also used by the middleware that rewrites
/// any non-JSON error a framework layer might still produce.
pub fn envelope_bytes(code: Code, message: &str, op: Option<&str>, err: Option<&str>) -> Vec<u8> {
    let env = Envelope {
        code: code.as_str(),
        message,
        op,
        err,
    };
    serde_json::to_vec(&env)
        .unwrap_or_else(|_| br#"{"code":"internal error","message":"internal error"}"#.to_vec())
}

pub const PLATFORM_ERROR_HEADER: &str = "X-Platform-Error-Code";

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        self.code.status()
    }

    fn error_response(&self) -> HttpResponse {
        let body = envelope_bytes(self.code, &self.message, self.op, self.err.as_deref());
        HttpResponse::build(self.code.status())
            .insert_header((header::CONTENT_TYPE, "application/json; charset=utf-8"))
            .insert_header((PLATFORM_ERROR_HEADER, self.code.as_str()))
            .body(body)
    }
}

impl From<crate::store::StoreError> for Error {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Full(detail) => Error {
                code: Code::Unavailable,
                message: "the data volume is full; the write could not be made durable (free some space and retry)".into(),
                op: None,
                err: Some(detail),
            },
            crate::store::StoreError::Unavailable(detail) => {
                log::warn!("store unavailable: {detail}");
                Error {
                    code: Code::Unavailable,
                    message: "the store is unavailable; retry shortly".into(),
                    op: None,
                    err: None,
                }
            }
            crate::store::StoreError::Conflict(detail) => Error::conflict(detail),
            other => Error::internal(other),
        }
    }
}
