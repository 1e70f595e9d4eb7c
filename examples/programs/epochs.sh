#!/bin/sh
# A shell-script program task (docs/programs.md): "trains" EPOCHS epochs of STEP seconds each with
# a validation loss of LR + 1/epoch, keeps its last epoch in its run directory and, started again
# after a crash or a requeue, continues from there, re-reporting the epochs it restores.
# Usage (from a sweep's program.command): epochs.sh LR EPOCHS STEP
lr=$1; epochs=$2; step=$3
done_epochs=0
[ -f "$HQSWEEP_RUN_DIR/epoch" ] && done_epochs=$(cat "$HQSWEEP_RUN_DIR/epoch")
[ "$done_epochs" -gt 0 ] && echo "continuing after epoch $done_epochs"
e=1
while [ "$e" -le "$epochs" ]; do
  [ "$e" -gt "$done_epochs" ] && sleep "$step"
  echo "hqsweep: {\"epoch\": $e, \"val_loss\": $(awk "BEGIN{print $lr + 1 / $e}")}"
  echo "$e" > "$HQSWEEP_RUN_DIR/epoch.tmp" && mv "$HQSWEEP_RUN_DIR/epoch.tmp" "$HQSWEEP_RUN_DIR/epoch"
  e=$((e + 1))
done
echo "hqsweep: {\"final\": {\"val_loss\": $(awk "BEGIN{print $lr + 1 / $epochs}"), \"test_loss\": $lr}}"
