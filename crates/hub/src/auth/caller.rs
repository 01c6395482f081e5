//! Who is calling: the bearer token of a request, checked, as a `Caller`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use countertop_protocol::{Action, Role};

use super::DeviceRecord;
use crate::error::AppError;
use crate::Hub;

/// Who is calling: a paired device, or nobody (anonymous).
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub device: Option<DeviceRecord>,
}

impl Caller {
    pub fn role(&self) -> Option<Role> {
        self.device.as_ref().map(|d| d.role)
    }

    pub fn device_id(&self) -> Option<&str> {
        self.device.as_ref().map(|d| d.id.as_str())
    }

    pub fn is(&self, role: Role) -> bool {
        self.role() == Some(role)
    }

    /// The caller's device if its role may do `action` (the role table in
    /// `countertop_protocol::roles`): no token is `401`, another role `403`.
    pub fn require(&self, action: Action) -> Result<&DeviceRecord, AppError> {
        match &self.device {
            None => Err(AppError::unauthorized("this call needs a device token")),
            Some(d) if d.role.may(action) => Ok(d),
            Some(d) => Err(AppError::forbidden(format!(
                "a {} device may not {}",
                d.role.as_str(),
                action.describe()
            ))),
        }
    }
}

/// The bearer token of a request: `Authorization: Bearer …` or `?token=…`.
pub fn bearer_token(parts: &Parts) -> Result<Option<String>, AppError> {
    if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| AppError::unauthorized("the Authorization header is not readable"))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .ok_or_else(|| {
                AppError::unauthorized("the Authorization header is not a Bearer token")
            })?;
        return Ok(Some(token.trim().to_owned()));
    }
    // Read as the extractors read a query: keys percent-decoded. A token
    // given twice is refused rather than guessed at.
    let query = parts.uri.query().unwrap_or("");
    let mut tokens = form_urlencoded::parse(query.as_bytes())
        .filter(|(key, _)| key.eq_ignore_ascii_case("token"))
        .map(|(_, value)| value);
    let first = tokens.next();
    if tokens.next().is_some() {
        return Err(AppError::unauthorized(
            "the request has more than one token",
        ));
    }
    Ok(first.filter(|t| !t.is_empty()).map(|t| t.into_owned()))
}

impl FromRequestParts<Hub> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, hub: &Hub) -> Result<Self, Self::Rejection> {
        // The authentication middleware has usually done this already.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let Some(token) = bearer_token(parts)? else {
            return Ok(Caller::default());
        };
        hub.authenticate(&token).await.map(|device| Caller {
            device: Some(device),
        })
    }
}
