#!/usr/bin/env bash
# A fuzz run of the experiment and compose parsers (cargo-fuzz on the nightly toolchain, with
# AddressSanitizer). CI runs it short (FUZZ_SECONDS=60 per target, from scripts/test.sh);
# for a long run: FUZZ_SECONDS=3600 scripts/fuzz.sh. Seeds: the shipped experiments and
# compose files and the bad-input corpus; the growing corpus stays in target/fuzz-corpus.
# The fuzz targets build the crate without its `runtime` feature (pure core only: no
# librdkafka under the sanitizer), so the build takes a couple of minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"

# cargo-fuzz needs the nightly toolchain (for -Zsanitizer). With rustup it is installed here
# (minimal profile: no docs), so a fresh machine does not stop at this step; without rustup
# there is no way to add a toolchain, so that stays an error.
if ! cargo +nightly --version >/dev/null 2>&1; then
  if command -v rustup >/dev/null 2>&1; then
    echo "fuzz: the nightly Rust toolchain is missing (cargo-fuzz needs it); installing it: rustup toolchain install nightly --profile minimal" >&2
    rustup toolchain install nightly --profile minimal >&2
  else
    echo "fuzz: the nightly Rust toolchain is missing (cargo-fuzz needs it) and rustup is not installed: install rustup (https://rustup.rs), then rustup toolchain install nightly" >&2
    exit 1
  fi
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi

for target in experiment compose; do
  corpus="target/fuzz-corpus/$target"
  mkdir -p "$corpus"
  case $target in
    experiment) seeds=(experiments tests/experiments tests/fixtures/bad/experiments tests/fixtures/good) ;;
    compose) seeds=(compose tests/fixtures/bad/compose) ;;
  esac
  echo "fuzz: $target for ${seconds} s"
  # -max_len keeps inputs small enough to explore; -timeout flags a slow input as a failure.
  log="target/fuzz-$target.log"
  status=0
  cargo +nightly fuzz run "$target" "$corpus" "${seeds[@]}" -- \
    -max_total_time="$seconds" -max_len=8192 -timeout=10 -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb)" "$log" || true
  if [ "$status" -ne 0 ]; then
    tail -n 40 "$log" >&2
    echo "fuzz: $target failed (exit $status); a failing input is kept under fuzz/artifacts/$target" >&2
    exit 1
  fi
done
echo "fuzz: no failing input"
