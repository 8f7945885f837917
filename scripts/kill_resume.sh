#!/usr/bin/env bash
# scripts/kill_resume.sh: issue 6's kill test on the embedded default job (the same check on a tiny
# job runs in `make test`: loop/resume_test.go). It starts `gam-native run`, SIGKILLs it at a
# random moment, resumes it with --resume, and repeats KILLS times; then lets it finish and checks
# that every image in the accepted manifest before any kill is in the final manifest exactly once,
# that no image is there twice, and that the report was written.
#
#   bash scripts/kill_resume.sh                       # 3 kills, a run folder under /tmp
#   KILLS=5 MIN_S=10 MAX_S=200 DIR=/tmp/kr bash scripts/kill_resume.sh
#   TERM=1 KILLS=10 bash scripts/kill_resume.sh       # SIGTERM instead of SIGKILL (issue 27)
#   CONFIG=job.toml bash scripts/kill_resume.sh       # another job than the embedded default
#   PROGRESS=1 MIN_S=2 MAX_S=30 bash scripts/kill_resume.sh
#
# PROGRESS=1 starts each attempt's clock only once the attempt has begun a stage after the one it
# redoes, so that on a slow or loaded machine (where a stage outlasts MAX_S) the kills still
# move through the stages instead of landing in the same one again and again.
#
# With TERM=1 each interruption is a SIGTERM: the run must exit within TERM_WAIT_S seconds
# (default 120) with status 143, having recorded no half-done stage as done. Either way the end
# checks too that the run folder holds no temporary file (a hidden file other than .lock) and no
# accepted PNG that the manifest does not name.
#
# The default job takes about 5 minutes on 2 cores; the kills fall MIN_S..MAX_S seconds into each
# attempt, so some land in training and some in generation.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/gam-native}
KILLS=${KILLS:-3}
MIN_S=${MIN_S:-15}
MAX_S=${MAX_S:-240}
PROGRESS=${PROGRESS:-0}
SIG_TERM=0 # TERM=1 (TERM is otherwise the terminal's type, never "1")
[[ ${TERM:-} == 1 ]] && SIG_TERM=1
TERM_WAIT_S=${TERM_WAIT_S:-120}
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
    "$BIN" run ${CONFIG:+--config "$CONFIG"} --dir "$DIR" >>"$DIR.log" 2>&1 &
  fi
  pid=$!
}

last_stage() { grep '^== ' "$DIR.log" 2>/dev/null | tail -1 | cut -c4- || true; }

stages() { # the stage lines in the log so far
  local n
  n=$(grep -c '^== ' "$DIR.log" 2>/dev/null) || true
  echo "${n:-0}"
}

for k in $(seq 1 "$KILLS"); do
  wait_s=$((MIN_S + RANDOM % (MAX_S - MIN_S + 1)))
  before=$(stages)
  start
  if ((PROGRESS)); then
    # Past the stage the last interruption redoes, into a new one, before the clock starts.
    while kill -0 "$pid" 2>/dev/null && (($(stages) - before < 2)); do sleep 1; done
  fi
  for _ in $(seq 1 "$wait_s"); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 1
  done
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" || { echo "the run failed before kill $k (log: $DIR.log)"; exit 1; }
    echo "attempt $k: the run finished before its kill at ${wait_s}s"
    break
  fi
  if ((SIG_TERM)); then
    at=$(last_stage)
    kill -TERM "$pid"
    t0=$SECONDS
    while kill -0 "$pid" 2>/dev/null && ((SECONDS - t0 < TERM_WAIT_S)); do sleep 1; done
    if kill -0 "$pid" 2>/dev/null; then
      kill -9 "$pid"
      echo "FAIL: the run did not exit within ${TERM_WAIT_S}s of SIGTERM $k (log: $DIR.log)"
      exit 1
    fi
    rc=0
    wait "$pid" || rc=$?
    if ((rc != 143 && rc != 0)); then
      echo "FAIL: exit status $rc after SIGTERM $k, want 143 (log: $DIR.log)"
      exit 1
    fi
    manifest_paths >>"$seen"
    echo "SIGTERM $k after ${wait_s}s in $at: exit $rc in $((SECONDS - t0))s; $(sort -u "$seen" | wc -l) accepted images seen so far"
    continue
  fi
  at=$(last_stage)
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  manifest_paths >>"$seen"
  echo "kill $k after ${wait_s}s in $at: $(sort -u "$seen" | wc -l) accepted images seen so far"
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
temps=$(find "$DIR" -type f -name '.*' ! -name .lock | wc -l)
orphans=$(python3 -c 'import json,os,sys
d = sys.argv[1]
named = set()
for l in open(os.path.join(d, "manifest.jsonl")):
    l = l.strip()
    if l: named.add(json.loads(l).get("path", ""))
n = 0
for root, _, files in os.walk(d):
    for f in files:
        rel = os.path.relpath(os.path.join(root, f), d)
        if f.endswith(".png") and rel not in named:
            n += 1
print(n)' "$DIR/accepted")
echo "run folder: $temps temporary files, $orphans accepted PNGs that no record names"
if ((temps > 0 || orphans > 0)); then
  find "$DIR" -type f -name '.*' ! -name .lock | head
  echo "FAIL (run folder: $DIR)"
  exit 1
fi
if ((dups > 0 || lost > 0)); then
  echo "FAIL (run folder: $DIR)"
  exit 1
fi
echo "ok: every image accepted before a kill is in the final manifest exactly once (run folder: $DIR)"
