#!/usr/bin/env bash
# scripts/kill_resume.sh: issue 6's kill test on the embedded default job (the same check on a tiny
# job runs in `make test`: loop/resume_test.go). It starts `gam-native run`, SIGKILLs it at a
# random moment, resumes it with --resume, and repeats KILLS times; then lets it finish and checks
# that every image in the accepted manifest before any kill is in the final manifest exactly once,
# that no image is there twice, and that the report was written.
#
#   bash scripts/kill_resume.sh                       # 3 kills, a run folder under /tmp
#   KILLS=5 MIN_S=10 MAX_S=200 DIR=/tmp/kr bash scripts/kill_resume.sh
#
# The default job takes about 5 minutes on 2 cores; the kills fall MIN_S..MAX_S seconds into each
# attempt, so some land in training and some in generation.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/gam-native}
KILLS=${KILLS:-3}
MIN_S=${MIN_S:-15}
MAX_S=${MAX_S:-240}
DIR=${DIR:-$(mktemp -d /tmp/gam-kill-XXXXXX)/run}
[[ -x $BIN ]] || { echo "missing $BIN: run make first"; exit 2; }
seen=$(mktemp)
trap 'rm -f "$seen"' EXIT

manifest_paths() { # the image paths in the accepted manifest and in rolled_back/'s (a rollback moves images there)
  [[ -f $DIR/accepted/manifest.jsonl ]] || return 0
  python3 -c 'import json,os,sys
for m in sys.argv[1:]:
    if not os.path.exists(m): continue
    for l in open(m):
        l = l.strip()
        if l: print(json.loads(l)["path"])' "$DIR/accepted/manifest.jsonl" "$DIR/rolled_back/manifest.jsonl"
}

start() { # starts the run, or resumes it when it has a state to resume from
  if [[ -f $DIR/state.json ]]; then
    "$BIN" run --resume "$DIR" >>"$DIR.log" 2>&1 &
  else
    rm -rf "$DIR" # killed before its first stage was recorded: nothing accepted yet
    mkdir -p "$(dirname "$DIR")"
    "$BIN" run --dir "$DIR" >>"$DIR.log" 2>&1 &
  fi
  pid=$!
}

for k in $(seq 1 "$KILLS"); do
  wait_s=$((MIN_S + RANDOM % (MAX_S - MIN_S + 1)))
  start
  for _ in $(seq 1 "$wait_s"); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" || { echo "the run failed before kill $k (log: $DIR.log)"; exit 1; }
    echo "attempt $k: the run finished before its kill at ${wait_s}s"
    break
  fi
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  manifest_paths >>"$seen"
  echo "kill $k after ${wait_s}s: $(sort -u "$seen" | wc -l) accepted images seen so far"
done
if [[ ! -f $DIR/report.json ]]; then
  start
  wait "$pid" || { echo "the resumed run failed (log: $DIR.log)"; exit 1; }
fi

final=$(mktemp)
trap 'rm -f "$seen" "$final"' EXIT
manifest_paths >"$final"
dups=$(sort "$final" | uniq -d | wc -l)
lost=$(sort -u "$seen" | comm -23 - <(sort -u "$final") | wc -l)
echo "final manifest: $(wc -l <"$final") images, $dups listed twice or more; $(sort -u "$seen" | wc -l) seen before the kills, $lost of them missing"
[[ -f $DIR/report.json ]] || { echo "FAIL: no report.json in $DIR"; exit 1; }
if ((dups > 0 || lost > 0)); then
  echo "FAIL (run folder: $DIR)"
  exit 1
fi
echo "ok: every image accepted before a kill is in the final manifest exactly once (run folder: $DIR)"
