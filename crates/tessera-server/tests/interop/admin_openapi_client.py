"""A scripted admin session against a running Tessera, every request and
every response checked against docs/admin-openapi.json by openapi-core (an
independent OpenAPI 3.1 validator: parameters, headers, request bodies,
status codes and response schemas), with `requests` as the HTTP client.

Usage: admin_openapi_client.py BASE_URL ADMIN_TOKEN OPENAPI_JSON
Run by tests/admin_api.rs (`the_admin_api_answers_as_its_document_says`);
prints one line per call and `ok` at the end; any mismatch raises.
"""

import sys

import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

base, token, document = sys.argv[1], sys.argv[2], sys.argv[3]
api = OpenAPI.from_file_path(document)
session = requests.Session()
calls = 0


def call(method, path, expect, body=None, headers=None, check_request=True):
    """One request: validated against the document before it is sent (unless
    it is a deliberately malformed one), its response validated after."""
    global calls
    h = {"Authorization": f"Bearer {token}"}
    h.update(headers or {})
    request = requests.Request(method, base + path, headers=h, json=body)
    prepared = session.prepare_request(request)
    openapi_request = RequestsOpenAPIRequest(prepared)
    if check_request:
        api.validate_request(openapi_request)
    response = session.send(prepared)
    assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
    api.validate_response(openapi_request, RequestsOpenAPIResponse(response))
    calls += 1
    print(method, path, response.status_code)
    return response


# Create a client, read it, change it with If-Match, rotate its secret.
created = call("POST", "/admin/v1/clients", 201, {
    "name": "openapi-core", "grant_types": ["client_credentials"], "scope": "reports:read",
}).json()
client = f"/admin/v1/clients/{created['client_id']}"
assert created["client_secret"]
etag = call("GET", client, 200).headers["ETag"]
call("PATCH", client, 428, {"name": "no precondition"}, check_request=False)
call("PATCH", client, 412, {"name": "stale"}, {"If-Match": '"stale"'})
changed = call("PATCH", client, 200, {"name": "openapi-core 2", "scope": "reports:read reports:write"},
               {"If-Match": etag})
assert changed.json()["name"] == "openapi-core 2"
rotated = call("POST", client + "/secret", 200, None, {"If-Match": changed.headers["ETag"]}).json()
assert rotated["client_secret"] != created["client_secret"]
call("GET", "/admin/v1/clients?limit=2", 200)

# Create a user, reset the password, disable them.
user = call("POST", "/admin/v1/users", 201, {
    "username": "openapi-user", "email": "oa@example.com", "password": "a first long passphrase 1",
}).json()
path = f"/admin/v1/users/{user['user_id']}"
call("POST", path + "/password", 400, {"password": "short"})
call("POST", path + "/password", 204, {"password": "a second long passphrase 2"})
etag = call("GET", path, 200).headers["ETag"]
disabled = call("PATCH", path, 200, {"disabled": True, "name": "Open API"}, {"If-Match": etag}).json()
assert disabled["disabled"] is True
call("GET", path + "/sessions", 200)
call("GET", path + "/consents", 200)
call("GET", "/admin/v1/users/nobody", 404)

# The audit log, filtered.
events = call("GET", f"/admin/v1/audit?user_id={user['user_id']}", 200).json()["items"]
assert [e["kind"] for e in events] == ["user_changed", "password_changed", "user_created"], events
events = call("GET", f"/admin/v1/audit?client_id={created['client_id']}&kind=client_secret_rotated&limit=5", 200)
assert [e["kind"] for e in events.json()["items"]] == ["client_secret_rotated"]
call("GET", "/admin/v1/audit?kind=nothing", 400)

# The rest of the read side.
call("GET", "/admin/v1/keys", 200)
call("GET", "/admin/v1/upstreams", 200)
call("GET", "/admin/v1/openapi.json", 200)

print("ok", calls, "calls")
