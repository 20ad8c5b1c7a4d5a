"""A real OpenID Connect relying party (Python authlib) signs in to Tessera.

  authlib_rp.py ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI USERNAME PASSWORD

Discovery, an authorization URL with PKCE (S256), state and nonce made by
authlib; the browser's part (the login form) done with `requests`; then
authlib exchanges the code, validates the ID token (signature from the JWKS,
iss, aud, nonce, at_hash, exp), calls UserInfo and refreshes. Prints one
JSON object for tests/authorization_code.rs to check.
"""

import html
import json
import re
import sys
import urllib.parse

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken

issuer, client_id, secret, redirect_uri, username, password = sys.argv[1:7]
meta = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
rp = OAuth2Session(
    client_id,
    secret,
    scope="openid profile email",
    redirect_uri=redirect_uri,
    code_challenge_method="S256",
    token_endpoint_auth_method="client_secret_basic",
)
verifier = generate_token(48)
nonce = generate_token(20)
url, state = rp.create_authorization_url(meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)

# The browser: the login page, its form, the redirect back.
browser = requests.Session()
page = browser.get(url, allow_redirects=False, timeout=10)
assert page.status_code == 200, page.text
fields = {m.group(1): html.unescape(m.group(2)) for m in re.finditer(r'name="([a-z_]+)" value="([^"]*)"', page.text)}
done = browser.post(
    issuer + "/authorize/login",
    data={"interaction": fields["interaction"], "csrf": fields["csrf"], "username": username, "password": password},
    allow_redirects=False,
    timeout=10,
)
assert done.status_code == 303, done.text
callback = done.headers["Location"]
returned = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(callback).query))

token = rp.fetch_token(meta["token_endpoint"], authorization_response=callback, code_verifier=verifier)
keys = JsonWebKey.import_key_set(requests.get(meta["jwks_uri"], timeout=10).json())
claims = jwt.decode(
    token["id_token"],
    keys,
    claims_cls=CodeIDToken,
    claims_options={"iss": {"essential": True, "value": issuer}},
    claims_params={"nonce": nonce, "client_id": client_id, "access_token": token["access_token"]},
)
claims.validate()
userinfo = rp.get(meta["userinfo_endpoint"], timeout=10).json()
refreshed = rp.refresh_token(meta["token_endpoint"], refresh_token=token["refresh_token"])
print(json.dumps({
    "state_matches": returned.get("state") == state,
    "iss": returned.get("iss"),
    "id_token_sub": claims["sub"],
    "id_token_alg": claims.header["alg"],
    "userinfo": userinfo,
    "refreshed": "access_token" in refreshed,
}))
