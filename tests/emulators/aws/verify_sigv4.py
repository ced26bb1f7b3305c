"""Recomputes, with botocore, the SigV4 signature of every request in a capture-proxy log and compares it with
the one the module sent. Prints a JSON summary; exits 1 if any request does not match."""
import base64
import json
import re
import sys
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, HTTPHeaders
from botocore.credentials import Credentials

LOG, ACCESS_KEY, SECRET_KEY = sys.argv[1], sys.argv[2], sys.argv[3]
AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})")

results = []
for line in open(LOG, encoding="utf-8"):
    entry = json.loads(line)
    headers = {k: v for k, v in entry["headers"]}
    lower = {k.lower(): v for k, v in headers.items()}
    match = AUTH.match(lower.get("authorization", ""))
    if not match:
        results.append({"path": entry["path"], "ok": False, "why": "no SigV4 Authorization header"})
        continue
    key, date, region, service, signed, signature = match.groups()
    names = signed.split(";")
    host = lower["host"]
    url = "http://" + host + entry["path"]
    request = AWSRequest(method=entry["method"], url=url, data=base64.b64decode(entry["body"]),
                         headers={name: lower[name] for name in names if name in lower})
    request.context["timestamp"] = lower["x-amz-date"]
    token = lower.get("x-amz-security-token")
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, token), service, region)

    def only_signed(req, names=names):
        # Sign exactly the headers the module says it signed (botocore would otherwise skip some, such as user-agent).
        chosen = HTTPHeaders()
        for name in names:
            if name in req.headers:
                chosen[name] = req.headers[name]
        return chosen

    signer.headers_to_sign = only_signed
    canonical = signer.canonical_request(request)
    expected = signer.signature(signer.string_to_sign(request, canonical), request)
    results.append({"path": urlsplit(url).path, "service": service, "region": region, "key": key == ACCESS_KEY,
                    "ok": expected == signature and key == ACCESS_KEY and date == lower["x-amz-date"][:8]})

print(json.dumps({"checked": len(results), "matched": sum(r["ok"] for r in results), "results": results}))
sys.exit(0 if results and all(r["ok"] for r in results) else 1)
