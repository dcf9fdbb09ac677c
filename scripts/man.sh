#!/usr/bin/env bash
# The corscope(1) man page: argument-parser's GenerateManual plugin writes it from the built tool
# (`swift package generate-manual`: NAME, SYNOPSIS, DESCRIPTION with every subcommand and
# option, and a stock EXIT STATUS); this script then replaces that EXIT STATUS with corscope's own
# (0/1/2, like grep) and adds EXAMPLES (the README's Use block, so the two cannot drift) and
# SEE ALSO, which the plugin has no way to add.
#   scripts/man.sh [--configuration debug|release] [--scratch-path DIR] OUT
#       builds with the plugin (default: release, .build), writes the finished page to OUT
#   scripts/man.sh --finish GENERATED OUT
#       only the second step, on a page the plugin already wrote
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/opt/swift/usr/bin"

configuration=release
scratch=.build
generated=""
while (($#)); do
  case "$1" in
    --configuration) configuration=$2; shift 2 ;;
    --scratch-path) scratch=$2; shift 2 ;;
    --finish) generated=$2; shift 2 ;;
    -*) echo "usage: $0 [--configuration debug|release] [--scratch-path DIR] OUT | --finish GENERATED OUT" >&2; exit 2 ;;
    *) break ;;
  esac
done
out=${1:?usage: $0 [--configuration debug|release] [--scratch-path DIR] OUT}

if [ -z "$generated" ]; then
  # The page's date is the commit's, so the same commit gives the same page.
  date=$(git log -1 --format=%cs HEAD 2>/dev/null || date -u +%F)
  generated="$scratch/plugins/GenerateManual/outputs/corscope/corscope.1"
  rm -f "$generated"
  ${SWIFT:-swift} package --scratch-path "$scratch" generate-manual --configuration "$configuration" --date "$date" >&2
  [ -s "$generated" ] || { echo "error: the GenerateManual plugin wrote no $generated" >&2; exit 1; }
fi

# Text for a literal display: backslashes as \e, a leading . or ' guarded, and the few
# non-ASCII characters the README uses as mdoc's own.
escape() {
  sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/" -e 's/→/\\(->/g' -e 's/…/.../g' -e 's/—/\\(em/g'
}

sections=$(mktemp)
trap 'rm -f "$sections"' EXIT
{
  cat <<'MDOC'
.Sh EXIT STATUS
Like
.Xr grep 1 :
.Bl -tag -width Ds
.It 0
Nothing matched
.Fl -fail-on ,
or there was nothing to report;
.Cm watch
also when stopped by SIGINT or SIGTERM.
.It 1
Something matched
.Fl -fail-on
(by default: a request was blocked).
.It 2
An error: an input could not be read (missing, not a capture, not a HAR,
a HAR with no entries), the output could not be written, or the command
line did not parse.
.El
.Pp
When some inputs were read and others not, the report covers the ones read
and lists the others under
.Dq Not read ;
when none was read, no report is written.
.Sh EXAMPLES
MDOC
  # The README's Use block: a command, optionally continued with \, then "  # what it does".
  awk '/^## Use/ { use = 1; next }
       use && /^```/ { if (inside) exit; inside = 1; next }
       inside { print }' README.md |
  awk '{ if (command != "") command = command "\n" $0; else command = $0 }
       /\\$/ { next }
       { comment = ""
         if (match(command, /[ \t]+# /)) { comment = substr(command, RSTART + RLENGTH); command = substr(command, 1, RSTART - 1) }
         printf "%s\t%s\n", comment, command
         command = "" }' |
  # awk printed "comment<TAB>command", the command's continuation lines below it.
  { while IFS= read -r line; do
    if [[ "$line" == *$'\t'* ]]; then
      comment=${line%%$'\t'*}
      command=${line#*$'\t'}
      [ -z "${first_done:-}" ] || echo ".Ed"
      # A command the README does not comment on stands on its own.
      if [ -n "$comment" ]; then
        [ -z "${first_done:-}" ] || echo ".Pp"
        printf '%s:\n' "${comment^}" | escape
      fi
      echo ".Bd -literal -offset indent"
      printf '%s\n' "$command" | escape
      first_done=1
    else
      printf '%s\n' "$line" | escape
    fi
  done
  [ -n "${first_done:-}" ] || { echo "error: README.md has no Use block (## Use, then a sh block) for EXAMPLES" >&2; exit 1; }
  echo ".Ed"; }
  cat <<'MDOC'
.Sh SEE ALSO
.Xr tcpdump 1 ,
.Xr tshark 1 ,
.Xr pcap-filter 7
MDOC
} >"$sections"

# The plugin's EXIT STATUS (up to the next section) is replaced; other sections stay as written,
# but for the blank lines between a discussion's paragraphs, which mdoc wants as .Pp.
awk -v sections="$sections" '
  function insert() { while ((getline line < sections) > 0) print line; inserted = 1 }
  /^\.Sh "?EXIT STATUS"?$/ { insert(); skipping = 1; next }
  skipping && /^\.Sh / { skipping = 0 }
  skipping { next }
  /^$/ { $0 = ".Pp" }
  # A paragraph break right before a list item or a list end is one mdoc ignores: left out.
  pending && !/^\.(It|El)( |$)/ { print ".Pp" }
  { pending = 0 }
  /^\.Pp$/ { pending = 1; next }
  { print }
  END { if (pending) print ".Pp"; if (!inserted) insert() }
' "$generated" >"$out.tmp"
mv "$out.tmp" "$out"
