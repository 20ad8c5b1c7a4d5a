//! The tower [`Layer`]: checks the token and the route's requirements,
//! puts the [`Claims`] in the request's extensions, and answers refused
//! requests itself with the RFC 6750 response ([`Rejection`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use crate::{Claims, Guard, Rejection};

/// Requires a valid token, and optionally scopes and roles. Made by
/// [`Guard::layer`].
#[derive(Clone)]
pub struct GuardLayer {
    guard: Guard,
    requirements: Arc<Requirements>,
}

#[derive(Clone, Default)]
struct Requirements {
    /// Every one of these scopes.
    scopes: Vec<String>,
    /// At least one of these roles, if any.
    roles: Vec<String>,
}

impl GuardLayer {
    pub(crate) fn new(guard: Guard) -> GuardLayer {
        GuardLayer {
            guard,
            requirements: Arc::default(),
        }
    }

    /// Also requires `scope` (403 `insufficient_scope` naming it
    /// otherwise, RFC 6750 §3.1).
    #[must_use]
    pub fn scope(mut self, scope: &str) -> GuardLayer {
        Arc::make_mut(&mut self.requirements)
            .scopes
            .push(scope.to_owned());
        self
    }

    /// Also requires `role`; several calls accept any one of them.
    #[must_use]
    pub fn role(mut self, role: &str) -> GuardLayer {
        Arc::make_mut(&mut self.requirements).roles.push(role.to_owned());
        self
    }

    /// Checks the request's token and this layer's requirements.
    pub async fn check(&self, parts: &http::request::Parts) -> Result<Claims, Rejection> {
        let claims = self.guard.authenticate(parts).await?;
        self.requirements.check(&claims)?;
        Ok(claims)
    }
}

impl Requirements {
    fn check(&self, claims: &Claims) -> Result<(), Rejection> {
        if let Some(missing) = self.scopes.iter().find(|s| !claims.has_scope(s)) {
            return Err(Rejection::InsufficientScope {
                scope: self.scopes.join(" "),
                description: format!("the token lacks the scope {missing}"),
            });
        }
        if !self.roles.is_empty() && !self.roles.iter().any(|r| claims.has_role(r)) {
            return Err(Rejection::InsufficientScope {
                scope: String::new(),
                description: format!("the user needs the role {}", self.roles.join(" or ")),
            });
        }
        Ok(())
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = GuardService<S>;

    fn layer(&self, inner: S) -> GuardService<S> {
        GuardService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`GuardLayer`] wraps around a route.
#[derive(Clone)]
pub struct GuardService<S> {
    inner: S,
    layer: GuardLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for GuardService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send,
    ReqBody: Send + 'static,
    ResBody: From<String>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<ResBody>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        // The clone that was polled ready serves this request (tower's
        // usual pattern); the fresh clone stays for the next one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            match layer.check(&parts).await {
                Ok(claims) => {
                    parts.extensions.insert(claims);
                    inner.call(Request::from_parts(parts, body)).await
                }
                Err(rejection) => Ok(layer.guard.reject(&rejection)),
            }
        })
    }
}
