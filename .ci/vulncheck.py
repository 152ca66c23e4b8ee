#!/usr/bin/env python3
"""Read govulncheck -format json from stdin and fail on any vulnerability in
a required module that the code reaches. Standard-library findings depend on
the Go release that builds the binary, not on this repository: they are
listed with the release that fixes them, as a warning."""
import json
import sys

data, dec, i, findings = sys.stdin.read(), json.JSONDecoder(), 0, []
osv = {}
while i < len(data):
    while i < len(data) and data[i].isspace():
        i += 1
    if i >= len(data):
        break
    obj, i = dec.raw_decode(data, i)
    if "finding" in obj:
        findings.append(obj["finding"])
    if "osv" in obj:
        osv[obj["osv"]["id"]] = obj["osv"].get("summary", "")

called = {}
for f in findings:
    top = f["trace"][0]
    if top.get("function"):  # reached from this code, not merely imported
        called.setdefault((top["module"], f["osv"]), f.get("fixed_version", "?"))

bad = 0
for (module, vid), fixed in sorted(called.items()):
    kind = "warning (Go release)" if module == "stdlib" else "FAIL"
    bad += module != "stdlib"
    print(f"{kind}: {vid} in {module}, fixed in {fixed}: {osv.get(vid, '')}")
print(f"govulncheck: {len(called)} reachable vulnerabilities, {bad} in required modules")
sys.exit(1 if bad else 0)
