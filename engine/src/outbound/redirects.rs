//! Redirects, followed by Switchyard instead of reqwest so that every hop
//! can be checked and rewritten: the policy judges each target, https never
//! falls back to http, and a hop to another origin (scheme, host and port)
//! carries none of the request's credentials. reqwest's own follower only
//! drops `Authorization` and `Cookie` when the host changes, keeps custom
//! credential headers such as `X-Api-Key`, and adds a `Referer` quoting the
//! previous URL, query keys included.

use std::{fmt, time::Instant};

use reqwest::{
    Method, Request, Response, StatusCode, Url,
    header::{self, HeaderName},
};

use super::{OutboundClient, Refused};
use crate::redact;

/// Redirects followed before giving up.
const MAX_REDIRECTS: usize = 10;

/// The only headers a request keeps when it is redirected to another
/// origin. Everything else may be a credential (connection and inline auth
/// headers, `Cookie`, custom headers such as `X-Tenant-Key`) and is
/// dropped: a list of what is safe cannot miss a new credential's name the
/// way a list of what is secret can.
const CROSS_ORIGIN_HEADERS: [HeaderName; 6] = [
    header::ACCEPT,
    header::ACCEPT_ENCODING,
    header::ACCEPT_LANGUAGE,
    header::CONTENT_LANGUAGE,
    header::CONTENT_TYPE,
    header::USER_AGENT,
];

/// Why an outbound call did not get a response.
#[derive(Debug)]
pub enum OutboundError {
    /// The policy refused the address or the URL.
    Refused(Refused),
    /// The request cannot be sent as written.
    Invalid(String),
    /// A redirect was refused or could not be followed.
    Redirect(String),
    /// The time given ran out between redirects.
    Timeout,
    /// Connecting, TLS, or the exchange itself failed.
    Transport(reqwest::Error),
}

impl fmt::Display for OutboundError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutboundError::Refused(refused) => write!(f, "{refused}"),
            OutboundError::Invalid(message) => f.write_str(message),
            OutboundError::Redirect(message) => write!(f, "redirect failed: {message}"),
            OutboundError::Timeout => f.write_str("no response in time"),
            OutboundError::Transport(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for OutboundError {}

impl OutboundClient {
    /// Sends `request`, following redirects under the policy. Its timeout,
    /// if any, covers every hop.
    pub async fn send(&self, mut request: Request) -> Result<Response, OutboundError> {
        // hyper sends a Host header it is given instead of the URL's host,
        // which would let a step reach another virtual host than the one
        // the policy checked.
        if request.headers().contains_key(header::HOST) {
            return Err(OutboundError::Invalid(
                "the Host header cannot be set: it is taken from the URL".into(),
            ));
        }
        self.policy
            .check_url(request.url())
            .map_err(OutboundError::Refused)?;
        let deadline = request.timeout().map(|timeout| Instant::now() + *timeout);
        let mut hops = 0;
        loop {
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(OutboundError::Timeout);
                }
                *request.timeout_mut() = Some(left);
            }
            // Bodies built from bytes, JSON or forms can always be cloned.
            let again = request.try_clone();
            let response = self
                .client
                .execute(request)
                .await
                .map_err(OutboundError::Transport)?;
            let (Some(again), Some(location)) = (again, location(&response)) else {
                return Ok(response);
            };
            if hops == MAX_REDIRECTS {
                return Err(OutboundError::Redirect(format!(
                    "more than {MAX_REDIRECTS} redirects"
                )));
            }
            hops += 1;
            let next = again.url().join(location).map_err(|_| {
                OutboundError::Redirect(format!(
                    "the Location `{}` is not a URL",
                    redact::text(location)
                ))
            })?;
            self.policy
                .check_url(&next)
                .map_err(OutboundError::Refused)?;
            request = redirected(again, response.status(), next)?;
        }
    }
}

/// The `Location` of a response that redirects.
fn location(response: &Response) -> Option<&str> {
    let redirects = matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308);
    redirects
        .then(|| response.headers().get(header::LOCATION)?.to_str().ok())
        .flatten()
}

/// The request to send to `next` after `request` was answered with the
/// redirect `status`.
fn redirected(
    mut request: Request,
    status: StatusCode,
    next: Url,
) -> Result<Request, OutboundError> {
    if request.url().scheme() == "https" && next.scheme() != "https" {
        return Err(OutboundError::Redirect(format!(
            "refused to follow a redirect from https to {}",
            redact::url(&next)
        )));
    }
    if next.origin() != request.url().origin() {
        let headers = request.headers_mut();
        let dropped: Vec<HeaderName> = headers
            .keys()
            .filter(|name| !CROSS_ORIGIN_HEADERS.contains(name))
            .cloned()
            .collect();
        for name in dropped {
            headers.remove(name);
        }
    }
    // 301, 302 and 303 turn the request into a GET without a body, as
    // browsers (and reqwest) do; 307 and 308 repeat it as it was.
    if matches!(status.as_u16(), 301..=303) {
        *request.body_mut() = None;
        for name in [
            header::CONTENT_TYPE,
            header::CONTENT_LENGTH,
            header::CONTENT_ENCODING,
            header::TRANSFER_ENCODING,
        ] {
            request.headers_mut().remove(name);
        }
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            *request.method_mut() = Method::GET;
        }
    }
    *request.url_mut() = next;
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, url: &str) -> Request {
        let mut request = Request::new(method, url.parse().unwrap());
        for (name, value) in [
            ("authorization", "Bearer t"),
            ("x-api-key", "k"),
            ("x-tenant", "acme"),
            ("cookie", "s=1"),
            ("accept", "application/json"),
            ("content-type", "application/json"),
        ] {
            request
                .headers_mut()
                .insert(name.parse::<HeaderName>().unwrap(), value.parse().unwrap());
        }
        *request.body_mut() = Some("{}".into());
        request
    }

    fn names(request: &Request) -> Vec<&str> {
        let mut names: Vec<&str> = request.headers().keys().map(HeaderName::as_str).collect();
        names.sort_unstable();
        names
    }

    #[test]
    fn item7_another_origin_gets_no_credentials() {
        for next in [
            "http://127.0.0.1:9001/b",  // another port
            "https://127.0.0.1:9000/b", // another scheme
            "http://localhost:9000/b",  // another host
        ] {
            let hop = redirected(
                request(Method::POST, "http://127.0.0.1:9000/a"),
                StatusCode::TEMPORARY_REDIRECT,
                next.parse().unwrap(),
            )
            .unwrap();
            assert_eq!(names(&hop), ["accept", "content-type"], "{next}");
            assert_eq!(hop.method(), Method::POST, "307 repeats the request");
            assert!(hop.body().is_some());
        }
        let same = redirected(
            request(Method::GET, "http://127.0.0.1:9000/a"),
            StatusCode::FOUND,
            "http://127.0.0.1:9000/b".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(
            names(&same),
            ["accept", "authorization", "cookie", "x-api-key", "x-tenant"],
            "the same origin keeps them (a 302 drops the body's content type)"
        );
    }

    #[test]
    fn item7_https_is_never_redirected_to_http() {
        let refused = redirected(
            request(Method::GET, "https://api.example.com/a"),
            StatusCode::FOUND,
            "http://api.example.com/b?token=abc".parse().unwrap(),
        )
        .unwrap_err()
        .to_string();
        assert!(refused.contains("from https to http"), "{refused}");
        assert!(!refused.contains("abc"), "{refused}");
    }

    #[test]
    fn item7_see_other_turns_into_a_get_without_body() {
        let hop = redirected(
            request(Method::POST, "http://127.0.0.1:9000/a"),
            StatusCode::SEE_OTHER,
            "http://127.0.0.1:9000/b".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(hop.method(), Method::GET);
        assert!(hop.body().is_none());
        assert!(!hop.headers().contains_key(header::CONTENT_TYPE));
    }
}
