#!/usr/bin/env bash
# Publishes the `gcn` command as one self-contained Linux x64 file in publish/gcn (git-ignored),
# to carry to a machine without .NET (the GPU machine). Compression keeps it under the size a
# device run can carry (about 40 MB instead of 70). Extra arguments go to dotnet publish.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet publish src/Gcn.Cli -c Release -r linux-x64 --self-contained \
  -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true \
  -o publish/gcn "$@"
ls -la publish/gcn
