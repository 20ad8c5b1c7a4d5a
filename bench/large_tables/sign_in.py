"""Signs a user in on the login page, as a browser does, and prints the
`Cookie` header that browser then sends to /authorize (its SSO session),
for bench/large_tables.sh.

  sign_in.py BASE AUTHORIZE_QUERY USERNAME PASSWORD

GET /authorize?QUERY shows the login form; posting it answers 303: to the
client's redirect URI with a code (consent given before), or to the consent
page, whose form is then allowed. Only BASE (127.0.0.1) is contacted; the
client's redirect URI is never followed.
"""

import html
import re
import sys

import requests

base, query, username, password = sys.argv[1:5]
browser = requests.Session()


def fields(page):
    return {m.group(1): html.unescape(m.group(2)) for m in re.finditer(r'name="([a-z_]+)" value="([^"]*)"', page)}


page = browser.get(f"{base}/authorize?{query}", allow_redirects=False, timeout=10)
assert page.status_code == 200, (page.status_code, page.headers, page.text[:500])
f = fields(page.text)
done = browser.post(
    f"{base}/authorize/login",
    data={"interaction": f["interaction"], "csrf": f["csrf"], "username": username, "password": password},
    allow_redirects=False,
    timeout=10,
)
if done.status_code == 200 and "/authorize/consent" in done.text:
    f = fields(done.text)
    f["decision"] = "allow"
    done = browser.post(f"{base}/authorize/consent", data=f, allow_redirects=False, timeout=10)
assert done.status_code == 303 and "code=" in done.headers.get("Location", ""), (done.status_code, done.text[:500])
print("; ".join(f"{c.name}={c.value}" for c in browser.cookies))
