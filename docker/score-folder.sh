#!/bin/sh
# The compose `batch` profile: `sentiment score` every input file of a folder into another folder.
#   score-folder.sh [IN_DIR] [OUT_DIR]     (default /data/in /data/out)
# Each IN_DIR/NAME.EXT (jsonl, csv, tsv, txt, parquet, optionally .gz) becomes OUT_DIR/NAME.scored.jsonl
# (format: SENTIMENT_BATCH_OUTPUT_FORMAT=jsonl|csv). Extra `sentiment score` flags: SENTIMENT_BATCH_ARGS.
# Files already scored (output newer than input) are skipped, so a re-run resumes where the last one stopped.
set -eu
IN="${1:-/data/in}"
OUT="${2:-/data/out}"
FMT="${SENTIMENT_BATCH_OUTPUT_FORMAT:-jsonl}"
[ -d "$IN" ] || { echo "error: input folder $IN does not exist (mount one there)" >&2; exit 2; }
mkdir -p "$OUT" 2>/dev/null || true
[ -w "$OUT" ] || { echo "error: output folder $OUT is not writable by uid $(id -u) (chmod it, or set BATCH_USER)" >&2; exit 2; }
found=0
failed=0
for f in "$IN"/*; do
    [ -f "$f" ] || continue
    name="$(basename "$f")"
    case "$name" in
        *.jsonl|*.jsonl.gz|*.csv|*.csv.gz|*.tsv|*.tsv.gz|*.txt|*.txt.gz|*.parquet) ;;
        *) echo "skip $name (not an input format)"; continue ;;
    esac
    found=$((found + 1))
    stem="${name%.gz}"
    stem="${stem%.*}"
    out="$OUT/$stem.scored.$FMT"
    if [ -f "$out" ] && [ "$out" -nt "$f" ]; then
        echo "skip $name (already scored: $out)"
        continue
    fi
    echo "score $name -> $out"
    # shellcheck disable=SC2086  # SENTIMENT_BATCH_ARGS is a list of flags
    if ! sentiment score "$f" -o "$out" --model "${SENTIMENT_MODEL_DIR:-/app/models/default}" \
        --device "${SENTIMENT_DEVICE:-cpu}" --no-progress ${SENTIMENT_BATCH_ARGS:-}; then
        echo "error: scoring $name failed" >&2
        failed=$((failed + 1))
    fi
done
[ "$found" -gt 0 ] || { echo "error: no input files (jsonl, csv, tsv, txt, parquet) in $IN" >&2; exit 2; }
echo "scored $((found - failed)) of $found files into $OUT"
[ "$failed" -eq 0 ]
