"""A stand-in for the Kubernetes API server's review endpoints, over HTTPS.

It serves POST /apis/authentication.k8s.io/v1/tokenreviews and
POST /apis/authorization.k8s.io/v1/subjectaccessreviews as the API server
does: the caller's own bearer token is required (401 with a v1 Status
otherwise), every request body and every answer is checked against the
Kubernetes OpenAPI schema kubernetes-validate ships (strict, for
--schema-version), and a request that fails it is answered 400 and
recorded as a schema error.

Its behaviour comes from a JSON state file, re-read for every request so a
test can change it while the agent runs:

    {"agent_tokens": ["..."],                 # callers accepted
     "users": {"<token>": {"username": "...", "uid": "...",
                           "groups": [...], "audiences": [...]}},
     "allowed": {"<username>": ["/metrics"]}, # non-resource paths, verb get
     "hang": false}                           # never answer (a hung server)

Every request is appended to the --log file as one JSON line:
{"kind": "TokenReview"|"SubjectAccessReview"|"unauthorized",
 "schema_errors": [...], ...}.

Usage: fake_kube_api.py --cert C --key K --state S --log L --port-file P
"""

import argparse
import json
import os
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import kubernetes_validate

TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
SUBJECT_ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
DEFAULT_AUDIENCE = "https://kubernetes.default.svc.cluster.local"


def schema_errors(obj, version):
    """The OpenAPI schema's complaints about obj, as strings."""
    if not isinstance(obj, dict):
        return ["not a JSON object"]
    try:
        kubernetes_validate.validate(obj, version, strict=True)
        return []
    except Exception as e:  # ValidationError, SchemaNotFoundError, KeyError
        return [f"{type(e).__name__}: {getattr(e, 'message', e)}"]


def status(code, reason, message):
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def token_review_answer(request, state):
    spec = request.get("spec", {})
    user = state.get("users", {}).get(spec.get("token", ""))
    wanted = spec.get("audiences") or [DEFAULT_AUDIENCE]
    answer = {
        "kind": "TokenReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": {},
    }
    if user is None:
        answer["status"] = {"user": {}, "error": "[invalid bearer token, token lookup failed]"}
        return answer
    audiences = [a for a in user.get("audiences", [DEFAULT_AUDIENCE]) if a in wanted]
    if not audiences:
        answer["status"] = {"user": {}, "error": "[invalid bearer token, token audiences is invalid]"}
        return answer
    info = {"username": user["username"], "uid": user.get("uid", str(uuid.uuid4()))}
    if user.get("groups"):
        info["groups"] = user["groups"]
    answer["status"] = {"authenticated": True, "user": info, "audiences": audiences}
    return answer


def subject_access_review_answer(request, state):
    spec = request.get("spec", {})
    attributes = spec.get("nonResourceAttributes") or {}
    paths = state.get("allowed", {}).get(spec.get("user", ""), [])
    allowed = attributes.get("verb") == "get" and attributes.get("path") in paths
    answer_status = {"allowed": allowed}
    if allowed:
        answer_status["reason"] = 'RBAC: allowed by ClusterRoleBinding "hostwatch-metrics"'
    return {
        "kind": "SubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": answer_status,
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def record(self, entry):
        with self.server.log_lock, open(self.server.log_path, "a") as log:
            log.write(json.dumps(entry) + "\n")

    def answer(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        with open(self.server.state_path) as f:
            state = json.load(f)
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if state.get("hang"):
            self.record({"kind": "hung", "path": self.path})
            time.sleep(60)
            return
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in state.get("agent_tokens", []):
            self.record({"kind": "unauthorized", "path": self.path, "schema_errors": []})
            return self.answer(401, status(401, "Unauthorized", "Unauthorized"))
        if self.headers.get("Content-Type", "").split(";")[0] != "application/json":
            self.record({"kind": "bad content type", "schema_errors": ["content type"]})
            return self.answer(415, status(415, "UnsupportedMediaType", "want application/json"))
        try:
            request = json.loads(raw)
        except ValueError as e:
            self.record({"kind": "bad json", "schema_errors": [str(e)]})
            return self.answer(400, status(400, "BadRequest", str(e)))
        if self.path == TOKEN_REVIEWS:
            kind, make = "TokenReview", token_review_answer
        elif self.path == SUBJECT_ACCESS_REVIEWS:
            kind, make = "SubjectAccessReview", subject_access_review_answer
        else:
            self.record({"kind": "not found", "path": self.path, "schema_errors": []})
            return self.answer(404, status(404, "NotFound", "the server could not find the requested resource"))
        errors = schema_errors(request, self.server.schema_version)
        if request.get("kind") != kind:
            errors.append(f"kind {request.get('kind')!r} posted to {self.path}")
        if errors:
            self.record({"kind": kind, "request": request, "schema_errors": errors})
            return self.answer(400, status(400, "BadRequest", "; ".join(errors)))
        answer = make(request, state)
        errors = schema_errors(answer, self.server.schema_version)
        entry = {"kind": kind, "request": request, "answer": answer, "schema_errors": errors}
        self.record(entry)
        self.answer(201, answer)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--schema-version", default="1.37.0")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.state_path = args.state
    server.log_path = args.log
    server.log_lock = threading.Lock()
    server.schema_version = args.schema_version
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(args.port_file + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(args.port_file + ".tmp", args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
