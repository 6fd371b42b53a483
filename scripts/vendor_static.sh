#!/usr/bin/env bash
# Vendors the browser libraries pinned in package.json / package-lock.json into static/vendor/, with their
# licences and a SHA256SUMS file (tests/test_vendor_static.py checks the committed files against it).
# The vendored files are committed: running the product or the tests needs no npm. Run this only to change a
# version: edit package.json, `npm install --ignore-scripts`, then `scripts/vendor_static.sh`, and commit.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --ignore-scripts --no-audit --no-fund
out=static/vendor
rm -rf "$out"
mkdir -p "$out/chartjs" "$out/cytoscape"
cp node_modules/chart.js/dist/chart.umd.min.js "$out/chartjs/"
cp node_modules/chart.js/LICENSE.md "$out/chartjs/LICENSE.md"
cp node_modules/cytoscape/dist/cytoscape.min.js "$out/cytoscape/"
cp node_modules/cytoscape/LICENSE "$out/cytoscape/LICENSE"
node -e '
const lock = require("./package-lock.json").packages;
const v = (n) => lock["node_modules/" + n].version;
process.stdout.write(JSON.stringify({"chart.js": v("chart.js"), "cytoscape": v("cytoscape")}, null, 2) + "\n");
' > "$out/VERSIONS.json"
(cd "$out" && find . -type f ! -name SHA256SUMS | sort | xargs sha256sum > SHA256SUMS)
echo "vendored into $out:" && cat "$out/VERSIONS.json"
