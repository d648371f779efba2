//! The bodies of `authentication.k8s.io/v1` TokenReview and
//! `authorization.k8s.io/v1` SubjectAccessReview, as the Kubernetes API
//! defines them: the requests the agent sends and pure readers of the
//! answers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::json;

/// Where TokenReviews are created.
pub const TOKEN_REVIEW_PATH: &str = "/apis/authentication.k8s.io/v1/tokenreviews";
/// Where SubjectAccessReviews are created.
pub const SUBJECT_ACCESS_REVIEW_PATH: &str = "/apis/authorization.k8s.io/v1/subjectaccessreviews";

/// Who a token belongs to, as the API server's TokenReview reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct UserInfo {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub uid: String,
    #[serde(default)]
    pub groups: Vec<String>,
    #[serde(default)]
    pub extra: BTreeMap<String, Vec<String>>,
}

/// What a TokenReview decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authentication {
    /// The token is valid (for one of the audiences asked for, if any).
    Authenticated(UserInfo),
    /// The token is not valid; the API server's reason, if it gave one.
    Rejected(String),
}

/// The TokenReview request for `token`, limited to `audiences` when any.
pub fn token_review_request(token: &str, audiences: &[String]) -> Vec<u8> {
    let mut spec = json!({ "token": token });
    if !audiences.is_empty() {
        spec["audiences"] = json!(audiences);
    }
    let body = json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": spec,
    });
    body.to_string().into_bytes()
}

#[derive(Deserialize)]
struct TokenReview {
    #[serde(rename = "apiVersion", default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    status: TokenReviewStatus,
}

#[derive(Deserialize, Default)]
struct TokenReviewStatus {
    #[serde(default)]
    authenticated: bool,
    #[serde(default)]
    user: Option<UserInfo>,
    #[serde(default)]
    audiences: Vec<String>,
    #[serde(default)]
    error: String,
}

/// Reads a TokenReview answer. With `audiences` asked for, a token the
/// API server accepts for none of them is rejected, as kube-rbac-proxy
/// does. A body that is not a TokenReview is an error.
pub fn parse_token_review(body: &[u8], audiences: &[String]) -> Result<Authentication, String> {
    let review: TokenReview = serde_json::from_slice(body)
        .map_err(|e| format!("TokenReview answer is not valid JSON: {e}"))?;
    check_kind(
        &review.api_version,
        &review.kind,
        "authentication.k8s.io/v1",
        "TokenReview",
    )?;
    let status = review.status;
    if !status.authenticated {
        return Ok(Authentication::Rejected(status.error));
    }
    if !audiences.is_empty() && !status.audiences.iter().any(|a| audiences.contains(a)) {
        return Ok(Authentication::Rejected(format!(
            "token audiences {:?} match none of {:?}",
            status.audiences, audiences
        )));
    }
    match status.user {
        Some(user) if !user.username.is_empty() => Ok(Authentication::Authenticated(user)),
        _ => Err("TokenReview answer is authenticated but names no user".to_string()),
    }
}

/// The SubjectAccessReview asking whether `user` may `verb` the
/// non-resource URL `path`.
pub fn subject_access_review_request(user: &UserInfo, path: &str, verb: &str) -> Vec<u8> {
    let mut spec = json!({
        "user": user.username,
        "nonResourceAttributes": { "path": path, "verb": verb },
    });
    if !user.uid.is_empty() {
        spec["uid"] = json!(user.uid);
    }
    if !user.groups.is_empty() {
        spec["groups"] = json!(user.groups);
    }
    if !user.extra.is_empty() {
        spec["extra"] = json!(user.extra);
    }
    let body = json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": spec,
    });
    body.to_string().into_bytes()
}

/// What a SubjectAccessReview decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Authorization {
    Allowed,
    /// Not allowed; the API server's reason, if it gave one.
    Denied(String),
}

#[derive(Deserialize)]
struct SubjectAccessReview {
    #[serde(rename = "apiVersion", default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    status: Option<SubjectAccessReviewStatus>,
}

#[derive(Deserialize)]
struct SubjectAccessReviewStatus {
    allowed: bool,
    #[serde(default)]
    denied: bool,
    #[serde(default)]
    reason: String,
    #[serde(rename = "evaluationError", default)]
    evaluation_error: String,
}

/// Reads a SubjectAccessReview answer. `denied` wins over `allowed`, as
/// the API defines it; a body that is not a SubjectAccessReview with a
/// status is an error.
pub fn parse_subject_access_review(body: &[u8]) -> Result<Authorization, String> {
    let review: SubjectAccessReview = serde_json::from_slice(body)
        .map_err(|e| format!("SubjectAccessReview answer is not valid JSON: {e}"))?;
    check_kind(
        &review.api_version,
        &review.kind,
        "authorization.k8s.io/v1",
        "SubjectAccessReview",
    )?;
    let status = review
        .status
        .ok_or("SubjectAccessReview answer has no status")?;
    if status.allowed && !status.denied {
        return Ok(Authorization::Allowed);
    }
    let reason = match (status.reason.is_empty(), status.evaluation_error.is_empty()) {
        (false, _) => status.reason,
        (true, false) => status.evaluation_error,
        (true, true) => String::new(),
    };
    Ok(Authorization::Denied(reason))
}

fn check_kind(
    api_version: &str,
    kind: &str,
    want_version: &str,
    want_kind: &str,
) -> Result<(), String> {
    if api_version == want_version && kind == want_kind {
        Ok(())
    } else {
        Err(format!(
            "expected a {want_version} {want_kind}, got apiVersion {api_version:?} kind {kind:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_review_request_carries_token_and_audiences() {
        let plain: serde_json::Value =
            serde_json::from_slice(&token_review_request("abc", &[])).unwrap();
        assert_eq!(plain["apiVersion"], "authentication.k8s.io/v1");
        assert_eq!(plain["kind"], "TokenReview");
        assert_eq!(plain["spec"]["token"], "abc");
        assert!(plain["spec"].get("audiences").is_none());
        let audiences = vec!["hostwatch".to_string()];
        let scoped: serde_json::Value =
            serde_json::from_slice(&token_review_request("abc", &audiences)).unwrap();
        assert_eq!(scoped["spec"]["audiences"], json!(["hostwatch"]));
    }

    // As a v1.30 API server answers for a projected service-account token.
    const AUTHENTICATED: &str = r#"{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1",
      "metadata":{"creationTimestamp":null},"spec":{"token":"x"},
      "status":{"authenticated":true,"user":{"username":"system:serviceaccount:monitoring:prometheus-k8s",
      "uid":"6a1e4c1f-2d3b-4f7e-9a0b-1c2d3e4f5a6b","groups":["system:serviceaccounts",
      "system:serviceaccounts:monitoring","system:authenticated"],
      "extra":{"authentication.kubernetes.io/pod-name":["prometheus-k8s-0"]}},
      "audiences":["https://kubernetes.default.svc.cluster.local"]}}"#;

    #[test]
    fn reads_an_authenticated_token_review() {
        let Authentication::Authenticated(user) =
            parse_token_review(AUTHENTICATED.as_bytes(), &[]).unwrap()
        else {
            panic!("not authenticated");
        };
        assert_eq!(
            user.username,
            "system:serviceaccount:monitoring:prometheus-k8s"
        );
        assert_eq!(user.groups.len(), 3);
        assert_eq!(
            user.extra["authentication.kubernetes.io/pod-name"],
            ["prometheus-k8s-0"]
        );
    }

    #[test]
    fn audiences_must_intersect() {
        let wanted = vec!["hostwatch".to_string()];
        assert!(matches!(
            parse_token_review(AUTHENTICATED.as_bytes(), &wanted).unwrap(),
            Authentication::Rejected(_)
        ));
        let wanted = vec!["https://kubernetes.default.svc.cluster.local".to_string()];
        assert!(matches!(
            parse_token_review(AUTHENTICATED.as_bytes(), &wanted).unwrap(),
            Authentication::Authenticated(_)
        ));
    }

    #[test]
    fn reads_a_rejected_token_review() {
        // Older API servers (v1.18) leave out user and audiences entirely.
        let body = br#"{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1",
          "metadata":{"creationTimestamp":null},"spec":{"token":"forged"},
          "status":{"user":{},"error":"[invalid bearer token, square/go-jose: error in cryptographic primitive]"}}"#;
        assert_eq!(
            parse_token_review(body, &[]).unwrap(),
            Authentication::Rejected(
                "[invalid bearer token, square/go-jose: error in cryptographic primitive]".into()
            )
        );
        let minimal =
            br#"{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","status":{}}"#;
        assert!(matches!(
            parse_token_review(minimal, &[]).unwrap(),
            Authentication::Rejected(_)
        ));
    }

    #[test]
    fn garbage_token_reviews_are_errors() {
        for body in [
            &b""[..],
            b"{",
            b"null",
            b"\x00\xff",
            br#"{"kind":"Status","apiVersion":"v1","status":"Failure","code":403}"#,
            br#"{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","status":{"authenticated":true}}"#,
            br#"{"kind":"TokenReview","apiVersion":"authentication.k8s.io/v1","status":{"authenticated":"yes"}}"#,
        ] {
            assert!(parse_token_review(body, &[]).is_err(), "{:?}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn subject_access_review_request_names_user_and_path() {
        let user = UserInfo {
            username: "system:serviceaccount:monitoring:prometheus-k8s".into(),
            uid: "u-1".into(),
            groups: vec!["system:authenticated".into()],
            extra: BTreeMap::from([("scopes".to_string(), vec!["a".to_string()])]),
        };
        let body: serde_json::Value =
            serde_json::from_slice(&subject_access_review_request(&user, "/metrics", "get"))
                .unwrap();
        assert_eq!(body["apiVersion"], "authorization.k8s.io/v1");
        assert_eq!(body["kind"], "SubjectAccessReview");
        assert_eq!(body["spec"]["user"], user.username);
        assert_eq!(body["spec"]["uid"], "u-1");
        assert_eq!(body["spec"]["groups"], json!(["system:authenticated"]));
        assert_eq!(body["spec"]["extra"]["scopes"], json!(["a"]));
        assert_eq!(
            body["spec"]["nonResourceAttributes"],
            json!({"path": "/metrics", "verb": "get"})
        );
        let bare = UserInfo {
            username: "alice".into(),
            ..UserInfo::default()
        };
        let body: serde_json::Value =
            serde_json::from_slice(&subject_access_review_request(&bare, "/", "get")).unwrap();
        assert!(body["spec"].get("groups").is_none() && body["spec"].get("uid").is_none());
    }

    #[test]
    fn reads_subject_access_reviews() {
        let allowed = br#"{"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1",
          "metadata":{"creationTimestamp":null},"spec":{"nonResourceAttributes":{"path":"/metrics","verb":"get"},
          "user":"p"},"status":{"allowed":true,"reason":"RBAC: allowed by ClusterRoleBinding \"hostwatch-metrics\""}}"#;
        assert_eq!(
            parse_subject_access_review(allowed).unwrap(),
            Authorization::Allowed
        );
        let forbidden = br#"{"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1",
          "spec":{"user":"p"},"status":{"allowed":false}}"#;
        assert_eq!(
            parse_subject_access_review(forbidden).unwrap(),
            Authorization::Denied(String::new())
        );
        let both = br#"{"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1",
          "status":{"allowed":true,"denied":true,"reason":"webhook said no"}}"#;
        assert_eq!(
            parse_subject_access_review(both).unwrap(),
            Authorization::Denied("webhook said no".into())
        );
        let errored = br#"{"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1",
          "status":{"allowed":false,"evaluationError":"webhook timed out"}}"#;
        assert_eq!(
            parse_subject_access_review(errored).unwrap(),
            Authorization::Denied("webhook timed out".into())
        );
    }

    #[test]
    fn garbage_subject_access_reviews_are_errors() {
        for body in [
            &b""[..],
            b"[]",
            br#"{"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1"}"#,
            br#"{"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1beta1","status":{"allowed":true}}"#,
            br#"{"kind":"SubjectAccessReview","apiVersion":"authorization.k8s.io/v1","status":{"allowed":1}}"#,
        ] {
            assert!(parse_subject_access_review(body).is_err(), "{:?}", String::from_utf8_lossy(body));
        }
    }
}
