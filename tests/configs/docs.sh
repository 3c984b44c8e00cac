#!/bin/sh
# docs.sh: the man pages (doc/mxprobe.1, doc/mxprobe.yaml.5) document
# every option and config key the code accepts, with the real defaults,
# and groff finds nothing to warn about; see docs.py.  Needs a built
# mxprobe ($MXPROBE_BUILD, default build) for -h and --list-plugins -v.
set -eu
here=$(dirname "$0")
exec /usr/bin/python3 "$here/docs.py"
