#!/bin/sh
# storegw kiosk launcher: opens the checkout page as this kiosk, with its id and token,
# without putting the token on a command line.
#
#   storegw-kiosk-launch.sh BROWSER [ARG...]
#
# Runs BROWSER ARG... file://$RUNTIME_DIRECTORY/kiosk-open.html. That small page (mode 0600, in the
# unit's private runtime folder, gone when the unit stops) replaces itself with
# $KIOSK_URL#k=<id>&t=<token>; the checkout page stores both in the browser profile and takes the
# fragment out of its address. A fragment is never sent to the server or written to its logs.
#
# Why not simply `chromium http://…/kiosk/#k=ID&t=TOKEN`: a process's command line is readable by
# every local user (/proc/PID/cmdline, ps), so the token would be too. The environment
# (/proc/PID/environ) is readable only by the same user and root, and the variables are dropped
# before the browser starts. What remains: the kiosk user can read the token (the launch page, the
# browser profile), as it must, since its browser presents it.
#
# Environment (systemd reads /etc/storegw/kiosk.env as root before it drops to the kiosk user):
#   KIOSK_ID     the kiosk's id, as in the gateway config's kiosks[].id
#   KIOSK_TOKEN  its token (the gateway keeps only its hash: `storegw hash`)
#   KIOSK_URL    the checkout page, default http://127.0.0.1:8080/kiosk/
# Without KIOSK_ID and KIOSK_TOKEN the page opens without them: it keeps what an earlier start
# stored, or says that this screen has no kiosk id and token. A malformed value exits 2.
set -eu
umask 077

ENV_FILE=/etc/storegw/kiosk.env
url=${KIOSK_URL:-http://127.0.0.1:8080/kiosk/}
id=${KIOSK_ID:-}
token=${KIOSK_TOKEN:-}
unset KIOSK_ID KIOSK_TOKEN KIOSK_URL

fail() {
  echo "storegw-kiosk-launch: $*" >&2
  exit 2
}

[ "$#" -ge 1 ] || fail "usage: storegw-kiosk-launch.sh BROWSER [ARG...]"

one_line() { [ "$(printf '%s' "$1" | wc -l)" -eq 0 ]; }

# The page address ends up inside a JavaScript string: no quote, backslash, angle bracket, space
# or fragment of its own.
one_line "$url" && printf '%s' "$url" | grep -Eq '^https?://[^"\\<>#[:space:]]+$' ||
  fail "KIOSK_URL: must be an http:// or https:// address without a #fragment, quotes or spaces (got \"$url\")"
if [ -n "$id" ]; then
  one_line "$id" && printf '%s' "$id" | grep -Eq '^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$' ||
    fail "KIOSK_ID: must be 1-64 letters, digits, '.', '_', ':' or '-' starting with a letter or digit, as in the gateway's kiosks[].id"
fi
if [ -n "$token" ]; then
  one_line "$token" || fail "KIOSK_TOKEN: must be one line"
fi

# Every byte as %XX: whatever the token holds (&, #, +, %, quotes), the page reads it back exactly
# (URLSearchParams decodes it) and nothing in it can end the string it sits in.
pct() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n' | sed 's/../%&/g'; }

target=$url
if [ -n "$id" ] && [ -n "$token" ]; then
  target="$url#k=$(pct "$id")&t=$(pct "$token")"
else
  echo "storegw-kiosk-launch: KIOSK_ID and KIOSK_TOKEN are not both set (put them in $ENV_FILE): opening the page without them" >&2
fi

dir=${RUNTIME_DIRECTORY:-${XDG_RUNTIME_DIR:-}}
[ -n "$dir" ] && [ -d "$dir" ] || fail "RUNTIME_DIRECTORY: no private runtime folder (the unit sets RuntimeDirectory=storegw-kiosk)"
page="$dir/kiosk-open.html"
tmp="$page.$$"
cat >"$tmp" <<EOF
<!doctype html>
<meta charset="utf-8">
<title>storegw kiosk</title>
<script>location.replace("$target");</script>
EOF
mv -f "$tmp" "$page"

exec "$@" "file://$page"
