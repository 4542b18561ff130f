#!/usr/bin/env bash
# The man pages render without a warning (man-db, groff), and shadowfs(1) documents every command
# and every option that the built binary's --help lists.
# Usage: man_pages_test.sh MAN_BUILD_DIR SHADOWFS_BINARY
set -euo pipefail
man_dir=$1
shadowfs=$2
export LC_ALL=C.UTF-8 MANWIDTH=80
failed=0
fail() {
  echo "FAIL: $*" >&2
  failed=1
}

for page in shadowfs.1 shadowfs.toml.5 mount.shadowfs.8; do
  [ -s "$man_dir/$page" ] || { fail "$man_dir/$page was not built"; continue; }
  if ! warnings=$(man --warnings -l "$man_dir/$page" 2>&1 >/dev/null); then
    fail "man -l $page exited non-zero: $warnings"
  elif [ -n "$warnings" ]; then
    fail "man -l $page warns:"$'\n'"$warnings"
  fi
done

# The rendered text, unhyphenated and unjustified, so option names appear whole.
text=$(MANWIDTH=200 man --nh --nj -l "$man_dir/shadowfs.1" 2>/dev/null)

# Commands (and subcommands) listed under "Subcommands:" in a --help text.
subcommands() {
  "$@" --help | awk '/^Subcommands:/ {on = 1; next} on && /^  [a-z]/ {print $1}'
}
# Long options listed in a --help text (the options of a command, not its subcommands').
long_options() {
  "$@" --help | awk '/^Subcommands:/ {exit} {print}' |
    grep -oE '^  +(-[a-zA-Z], ?)?--[a-z][a-z0-9-]*' | grep -oE -- '--[a-z][a-z0-9-]*' || true
}
check_command() {  # the words after the binary, e.g. "shadow ls"
  local words=("$@")
  grep -qE "shadowfs ${words[*]}( |$)" <<<"$text" || fail "shadowfs(1) has no synopsis of '${words[*]}'"
  local option
  for option in $(long_options "$shadowfs" "${words[@]}"); do
    [ "$option" = --help ] && continue
    grep -qF -- "$option" <<<"$text" || fail "shadowfs(1) does not document ${words[*]} $option"
  done
}

for option in $(long_options "$shadowfs"); do
  grep -qF -- "$option" <<<"$text" || fail "shadowfs(1) does not document the global $option"
done
commands=$(subcommands "$shadowfs")
[ -n "$commands" ] || fail "no subcommands found in shadowfs --help"
for command in $commands; do
  nested=$(subcommands "$shadowfs" "$command")
  if [ -z "$nested" ]; then
    check_command "$command"
  else
    for sub in $nested; do
      grep -qE "\\b$sub\\b" <<<"$text" || fail "shadowfs(1) does not document '$command $sub'"
      for option in $(long_options "$shadowfs" "$command" "$sub"); do
        [ "$option" = --help ] && continue
        grep -qF -- "$option" <<<"$text" || fail "shadowfs(1) does not document $command $sub $option"
      done
    done
  fi
done

[ "$failed" -eq 0 ] && echo "man pages: OK ($(wc -w <<<"$commands") commands checked)"
exit "$failed"
