#!/bin/bash
# Queues the sharded generate as an array and the merge behind it: the merge starts only when
# every task of the array has exited 0 (afterok).
set -euo pipefail
cd "$(dirname "$0")"
jid=$(sbatch --parsable slurm-generate.sbatch)
sbatch --dependency=afterok:"$jid" slurm-merge.sbatch
