#!/bin/sh
# cap-backup.jq.sh: caps every backup subflow at ${CAP:-10} segments and
# leaves the others uncapped. Needs jq.
exec jq -c --argjson cap "${CAP:-10}" \
	'[.subflows[] | if .backup then $cap else 0 end]'
