"""A real OAuth 2.0 client library (Python authlib) against Tessera.

  authlib_client.py ISSUER CLIENT_ID CLIENT_SECRET USERNAME PASSWORD

Discovers the endpoints, then runs client_credentials, password, refresh,
introspection and revocation with authlib's OAuth2Session, and prints what
it got as one JSON object for tests/token_endpoint.rs to check.
"""

import json
import sys

import requests
from authlib.integrations.requests_client import OAuth2Session

issuer, client_id, secret, username, password = sys.argv[1:6]
meta = requests.get(issuer + "/.well-known/oauth-authorization-server", timeout=10).json()
session = OAuth2Session(client_id, secret, token_endpoint_auth_method="client_secret_basic")

service = session.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
user = session.fetch_token(meta["token_endpoint"], username=username, password=password)
refreshed = session.refresh_token(meta["token_endpoint"], refresh_token=user["refresh_token"])
active = session.introspect_token(meta["introspection_endpoint"], token=refreshed["access_token"]).json()
session.revoke_token(meta["revocation_endpoint"], token=refreshed["access_token"])
after = session.introspect_token(meta["introspection_endpoint"], token=refreshed["access_token"]).json()
try:
    session.refresh_token(meta["token_endpoint"], refresh_token=user["refresh_token"])
    replay = "accepted"
except Exception as e:  # authlib raises OAuthError with the server's error code
    replay = getattr(e, "error", str(e))

print(json.dumps({
    "service_token_type": service["token_type"],
    "user_has_refresh": "refresh_token" in user,
    "rotated": refreshed["refresh_token"] != user["refresh_token"],
    "active": active.get("active"),
    "username": active.get("username"),
    "after_revoke": after.get("active"),
    "replay": replay,
}))
