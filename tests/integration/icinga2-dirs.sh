#!/bin/sh
# tests/integration/icinga2-dirs.sh - the folders of a private Icinga 2
# (no systemd, nothing of /etc/icinga2 or /var/lib/icinga2), shared by
# icinga2-setup.sh and tests/configs/icinga2.sh.
#
#   sh icinga2-dirs.sh DIR NODE [ZONESDIR]
#
# Makes DIR/data, log, cache, spool, run (and DIR/zones unless ZONESDIR
# is given) and writes DIR/defines: the -D options, one a line, that put
# every path Icinga writes below DIR and name the node NODE (NodeName,
# ZoneName), for `icinga2 daemon -c FILE $(cat DIR/defines)`.
set -eu

D=$1
NODE=$2
ZONES=${3:-$D/zones}

mkdir -p "$D/data" "$D/log" "$D/cache" "$D/spool" "$D/run" "$ZONES"
cat >"$D/defines" <<EOF2
-DNodeName=$NODE
-DZoneName=$NODE
-DDataDir=$D/data
-DLogDir=$D/log
-DCacheDir=$D/cache
-DSpoolDir=$D/spool
-DInitRunDir=$D/run
-DPidPath=$D/run/icinga2.pid
-DVarsPath=$D/cache/icinga2.vars
-DObjectsPath=$D/cache/icinga2.debug
-DZonesDir=$ZONES
-DRunAsUser=root
-DRunAsGroup=root
EOF2
