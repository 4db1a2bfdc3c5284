"""Reads `cargo test --no-run --message-format=json` from standard input and prints, for each
integration-test target named on the command line, one line: its package directory, a tab,
and its executable. scripts/test.sh runs those executables directly, because
`cargo test --workspace --test <name>` resolves features for fewer targets than the build of
every test did (the harness's dev-dependencies are left out for provider_it) and would
compile the workspace a second time."""

import json
import os
import sys

wanted = set(sys.argv[1:])
found = {}
for line in sys.stdin:
    line = line.strip()
    if not line.startswith("{"):
        continue
    message = json.loads(line)
    if message.get("reason") != "compiler-artifact" or not message.get("executable"):
        continue
    target = message.get("target", {})
    if target.get("name") in wanted and "test" in target.get("kind", []):
        found[target["name"]] = (os.path.dirname(message["manifest_path"]), message["executable"])

missing = wanted - set(found)
if missing:
    sys.exit("no executable for " + ", ".join(sorted(missing)) + " in cargo's output")
for name in sys.argv[1:]:
    print(name + "\t" + found[name][0] + "\t" + found[name][1])
