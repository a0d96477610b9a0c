# Shared helpers for the scripts in this directory (sourced, not executed).
# shellcheck shell=bash

zdl_die() {
  echo "$(basename "$0"): error: $*" >&2
  exit 1
}

# Print the Debian archive URI this machine's apt already uses for its own
# release (deb822 *.sources files first, then classic sources.list files).
# No host name is hard-coded in the repository: it always comes from here.
zdl_debian_mirror() {
  local codename f uri=""
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  [ -n "$codename" ] || return 1

  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    uri="$(awk -v cn="$codename" '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[ \t]*#/) continue
          if (match(line, /^[A-Za-z-]+:/)) {
            key = tolower(substr(line, 1, RLENGTH - 1))
            val = substr(line, RLENGTH + 1)
            gsub(/^[ \t]+|[ \t]+$/, "", val)
            if (key == "types") types = val
            else if (key == "uris") uris = val
            else if (key == "suites") suites = val
            else if (key == "enabled") enabled = tolower(val)
          }
        }
        if (enabled == "no" || (" " types " ") !~ / deb /) next
        if ((" " suites " ") !~ (" " cn " ")) next
        n = split(uris, u, /[ \t]+/)
        for (j = 1; j <= n; j++) if (u[j] ~ /^https?:\/\//) { print u[j]; exit }
      }' "$f")"
    [ -n "$uri" ] && break
  done

  if [ -z "$uri" ]; then
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
      [ -r "$f" ] || continue
      # deb [opts] URI suite components...
      uri="$(sed -e 's/#.*//' -e 's/\[[^]]*\]//' "$f" |
        awk -v cn="$codename" '$1 == "deb" && $3 == cn && $2 ~ /^https?:\/\// { print $2; exit }')"
      [ -n "$uri" ] && break
    done
  fi

  [ -n "$uri" ] || return 1
  echo "${uri%/}"
}
