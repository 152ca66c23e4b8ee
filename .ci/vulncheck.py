#!/usr/bin/env python3
"""Read govulncheck -format json from stdin and fail on any vulnerability in
a required module or in the standard library that the code reaches. CI
builds with the Go release users are told to use (GOTOOLCHAIN in .ci/run,
the toolchain line in go.mod), so a standard-library finding means that
release must move, and fails the run like any other."""
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

for (module, vid), fixed in sorted(called.items()):
    print(f"FAIL: {vid} in {module}, fixed in {fixed}: {osv.get(vid, '')}")
print(f"govulncheck: {len(called)} reachable vulnerabilities")
sys.exit(1 if called else 0)
