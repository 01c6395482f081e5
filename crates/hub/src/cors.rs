//! CORS for `/api` and `/socket.io/`: a page of an origin on the allow-list
//! (`origin::is_allowed`, the same rule as `/ws`) may call the hub from its
//! browser. Every answer to such a request carries
//! `Access-Control-Allow-Origin: <that origin>` and `Vary: Origin`, errors
//! included, and its preflight `OPTIONS` is answered here, before the
//! authentication middleware could refuse it. Other origins get no CORS
//! headers, and their preflight is not approved: it goes on to the routes
//! like any `OPTIONS`.
//!
//! [`cors`] is a tower layer over tower-http's `CorsLayer`. `router()` wraps
//! every route with it, outside authentication, scoped to `/api` and
//! `/socket.io/` with [`Cors::only_under`]; a service mounted apart from the
//! router wraps itself with `cors(&hub)`. Wrapping twice is harmless: the
//! outer layer answers a preflight, and the inner one's `Allow-Origin` is
//! overwritten with the same value.

use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::{header, HeaderName, Method, Request, Response};
use futures::future::Either;
use tower::{Layer, Service};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::Hub;

/// A browser may keep an approved preflight this long.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The CORS layer of the hub's allow-list, for every request through it.
pub(crate) fn cors(hub: &Hub) -> Cors {
    let allowed = hub.clone();
    let layer = CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            origin
                .to_str()
                .is_ok_and(|origin| crate::origin::is_allowed(&allowed, origin))
        }))
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("last-event-id"),
        ])
        .max_age(PREFLIGHT_MAX_AGE)
        .vary([header::ORIGIN]);
    Cors {
        hub: hub.clone(),
        layer,
        only_under: None,
    }
}

/// CORS by the hub's allow-list (see the module's docs).
#[derive(Clone)]
pub(crate) struct Cors {
    hub: Hub,
    layer: CorsLayer,
    only_under: Option<&'static [&'static str]>,
}

impl Cors {
    /// Leaves requests outside these path prefixes (`/api` covers `/api`
    /// and `/api/…`, not `/apis`) as if the layer were not there.
    pub(crate) fn only_under(mut self, prefixes: &'static [&'static str]) -> Cors {
        self.only_under = Some(prefixes);
        self
    }
}

impl<S> Layer<S> for Cors {
    type Service = CorsService<S>;

    fn layer(&self, inner: S) -> CorsService<S> {
        CorsService {
            hub: self.hub.clone(),
            only_under: self.only_under,
            cors: self.layer.layer(inner),
        }
    }
}

#[derive(Clone)]
pub(crate) struct CorsService<S> {
    hub: Hub,
    only_under: Option<&'static [&'static str]>,
    cors: tower_http::cors::Cors<S>,
}

impl<S> CorsService<S> {
    /// Whether CORS applies to this request at all: in scope, and not an
    /// `OPTIONS` that is no preflight of an allowed origin.
    fn applies<B>(&self, req: &Request<B>) -> bool {
        let path = req.uri().path();
        let in_scope = self.only_under.is_none_or(|prefixes| {
            prefixes.iter().any(|prefix| {
                path.strip_prefix(prefix)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
            })
        });
        if !in_scope {
            return false;
        }
        if req.method() != Method::OPTIONS {
            return true;
        }
        req.headers()
            .get(header::ORIGIN)
            .and_then(|origin| origin.to_str().ok())
            .is_some_and(|origin| crate::origin::is_allowed(&self.hub, origin))
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CorsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Either<S::Future, tower_http::cors::ResponseFuture<S::Future>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        // Readies the inner service, which either path below calls.
        self.cors.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        if self.applies(&req) {
            Either::Right(self.cors.call(req))
        } else {
            Either::Left(self.cors.get_mut().call(req))
        }
    }
}
