#!/usr/bin/env bash
# Runs the XOR example with its defaults for seeds 0..N-1 (N = 100 unless given) in release mode
# and counts the seeds that reach 4/4. Extra arguments go to the example:
#   scripts/xor_seeds.sh            # 100 seeds, defaults
#   scripts/xor_seeds.sh 100 --optimizer sgd --lr 0.5 --hidden 4
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${1:-100}
shift || true
cargo build --quiet --release --example xor
bin=target/release/examples/xor
solved=0
max_epochs=0
for ((seed = 0; seed < seeds; seed++)); do
    last=$("$bin" --seed "$seed" --print-every 0 "$@" | tail -n 1)
    # last: accuracy C/4 loss L epochs E
    read -r _ accuracy _ _ _ epochs <<<"$last"
    if [[ $accuracy == 4/4 ]]; then
        solved=$((solved + 1))
    else
        echo "seed $seed: $last"
    fi
    ((epochs > max_epochs)) && max_epochs=$epochs
done
echo "solved $solved/$seeds seeds (4/4 accuracy); most epochs used: $max_epochs"
