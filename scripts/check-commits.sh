#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Commit messages (CONTRIBUTING.md): a subject of at most 72 characters,
# a blank line, and a body that says why.
#
#   scripts/check-commits.sh              the commits made after the one
#                                         that introduced this script (CI)
#   scripts/check-commits.sh BASE..HEAD   every commit of that range
#
# Merge commits are not checked.  The history before this script is left
# as it is: the check is for the commits made since, that is those after
# it in the history and committed after it (a branch begun earlier and
# merged later keeps its older commits out; one rebased later is checked).  Outside a git
# checkout there is nothing to check (exit 0, said so).  Exit 1 naming
# each commit that fails and why.
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_SUBJECT=72
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  echo "check-commits.sh: not a git checkout, nothing to check"
  exit 0
fi
if (($# > 1)); then
  echo "usage: scripts/check-commits.sh [BASE..HEAD]" >&2
  exit 2
fi
if (($# == 1)); then
  range=$1
else
  intro=$(git log --diff-filter=A --format=%H -- scripts/check-commits.sh | tail -n 1)
  if [[ -z $intro ]]; then
    echo "check-commits.sh: not committed yet, nothing to check"
    exit 0
  fi
  range=$intro..HEAD
  since=$(git log -1 --format=%ct "$intro")
fi

bad=0
checked=0
while read -r sha; do
  [[ -n $sha ]] || continue
  if [[ -n ${since:-} ]] && (($(git log -1 --format=%ct "$sha") < since)); then
    continue
  fi
  checked=$((checked + 1))
  msg=$(git log -1 --format=%B "$sha")
  subject=$(printf '%s\n' "$msg" | sed -n 1p)
  second=$(printf '%s\n' "$msg" | sed -n 2p)
  body=$(printf '%s\n' "$msg" | sed -n '3,$p' | grep -v '^[[:space:]]*$' || true)
  why=()
  if [[ -z ${subject//[[:space:]]/} ]]; then
    why+=("empty subject")
  elif ((${#subject} > MAX_SUBJECT)); then
    why+=("subject of ${#subject} characters (at most $MAX_SUBJECT)")
  fi
  [[ -z ${second//[[:space:]]/} ]] || why+=("no blank line after the subject")
  [[ -n $body ]] || why+=("no body: say why")
  if ((${#why[@]})); then
    bad=$((bad + 1))
    printf 'check-commits.sh: %s "%s": %s\n' "${sha:0:12}" "$subject" "$(IFS=';'; echo "${why[*]}" | sed 's/;/; /g')" >&2
  fi
done < <(git rev-list --no-merges "$range")

if ((bad)); then
  echo "check-commits.sh: $bad of $checked commit(s) in $range break the rules in CONTRIBUTING.md" >&2
  echo "check-commits.sh: fix them with git rebase -i (reword) before they are merged" >&2
  exit 1
fi
echo "check-commits.sh: $checked commit(s) in $range checked"
