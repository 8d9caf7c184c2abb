#!/usr/bin/env bash
# Replays every top-level *.csv of a trace directory through `spillway simulate`
# (release build, all five strategies) and writes a Markdown table of every
# strategy's figures, plus the timing of the 7-day / 1,000-node benchmark.
#
#   scripts/bench.sh [TRACE_DIR] [OUT.md]
#
# TRACE_DIR defaults to ../shared/traces (relative to the repository root);
# OUT.md defaults to target/bench/bench.md. Reports and JSON go next to OUT.md.
# Each trace is scaled so that its peak needs 2.5x the default scenario's
# initial VM pool (the `--peak-replicas` default); extra arguments after OUT.md
# go to every `spillway simulate` call (e.g. --duration 7d).
#
# It also replays a synthetic 5-year hourly trace (43,800 rows, generated into
# the output directory at run time by `five_years_hourly` below, never
# committed) and reports its wall time and peak RSS (`/usr/bin/time -v`'s
# maximum resident set size, or VmHWM if GNU time is missing).
set -euo pipefail
cd "$(dirname "$0")/.."

traces="${1:-../shared/traces}"
out="${2:-target/bench/bench.md}"
shift $(( $# > 2 ? 2 : $# )) || true
extra=("$@")

if [ ! -d "$traces" ]; then
  echo "error: trace directory $traces does not exist (the shared traces live outside the repository)" >&2
  exit 1
fi
command -v jq >/dev/null || { echo "error: jq is required (apt-get install jq)" >&2; exit 1; }

cargo build --release --locked -p spillway >&2
bin="${CARGO_TARGET_DIR:-target}/release/spillway"
outdir="$(dirname "$out")"
mkdir -p "$outdir"

now() { date +%s.%N; }

# Spillway's figure over another's, rounded to 1/k, as "0.65x" ("inf" when
# only the other's is 0): one definition for every table below.
JQ_RATIO='def ratio(a; b; k): if b > 0 then (a / b * k | round / k | tostring) + "x" elif a > 0 then "inf" else "n/a" end;'

# The default scenario with one sed edit, written to OUT; stops the script
# when the edit did not take (WANT not found in OUT): a table must never show
# the default scenario under another name.
scenario_variant() { # OUT SED_EXPR WANT
  sed "$2" config/scenarios/default.yaml > "$1"
  grep -q -- "$3" "$1" || { echo "error: could not write $1 from the default scenario (no '$3')" >&2; exit 1; }
}

# Five years of hourly arrivals: a daily and a weekly cycle, a yearly drift and
# ±5 % deterministic noise (awk's srand(12)), about 360,000 arrivals an hour.
five_years_hourly() {
  awk 'BEGIN { srand(12); pi = 3.14159265; print "t_seconds,value"
    for (i = 0; i < 5 * 365 * 24; i++) { h = i % 24; d = int(i / 24)
      v = 360000 * (1 + 0.5 * sin(2 * pi * (h - 9) / 24)) * (1 + 0.15 * sin(2 * pi * (d % 7) / 7)) \
        * (1 + 0.1 * sin(2 * pi * d / 365)) * (0.95 + 0.1 * rand())
      printf "%d,%.0f\n", i * 3600, v } }'
}

# Runs a command with its stdout discarded and prints its peak RSS in KiB.
peak_rss_kb() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }'
  else
    "$@" >/dev/null & pid=$!
    hwm=0
    while kill -0 "$pid" 2>/dev/null; do
      h=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
      [ "${h:-0}" -gt "$hwm" ] && hwm=$h
      sleep 0.2
    done
    wait "$pid"
    echo "$hwm"
  fi
}

{
  echo "## Simulator benchmark"
  echo
  echo "Generated $(date -u +%Y-%m-%d) by \`scripts/bench.sh $traces\` on $(nproc) cores ($(uname -m))."
  echo
  start=$(now)
  "$bin" simulate --scenario config/scenarios/bench-7d-1000-nodes.yaml --json "$outdir/bench-7d.json" --report "$outdir/bench-7d.html" >/dev/null
  end=$(now)
  wall=$(echo "$end - $start" | bc -l)
  secs=$(jq .simulated_seconds "$outdir/bench-7d.json")
  printf '7-day trace at 1 s, up to 1,000 nodes, all five strategies: **%.2f s wall** (%.0fx simulated time).\n\n' "$wall" "$(echo "$secs / $wall" | bc -l)"
  five_years_hourly > "$outdir/synthetic-5y-hourly.csv"
  rows=$(($(wc -l < "$outdir/synthetic-5y-hourly.csv") - 1))
  start=$(now)
  rss_kb=$(peak_rss_kb "$bin" simulate --trace "$outdir/synthetic-5y-hourly.csv" --json "$outdir/synthetic-5y-hourly.json" --report "$outdir/synthetic-5y-hourly.html")
  end=$(now)
  printf '5-year hourly trace (%d rows, %s simulated seconds), all five strategies: **%.1f s wall, %.0f MiB peak RSS**.\n\n' \
    "$rows" "$(jq .simulated_seconds "$outdir/synthetic-5y-hourly.json")" "$(echo "$end - $start" | bc -l)" "$(echo "$rss_kb / 1024" | bc -l)"
  echo "| trace | strategy | unserved | shortfall replica·s | p99 shortfall | MTTR s | cost | VM | ACI | groups | peak burst | decisions |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  ratios=()
  for csv in "$traces"/*.csv; do
    [ -e "$csv" ] || continue
    name="$(basename "$csv" .csv)"
    start=$(now)
    "$bin" simulate --trace "$csv" --json "$outdir/$name.json" --report "$outdir/$name.html" "${extra[@]}" >/dev/null
    end=$(now)
    printf "  %s: %.2f s\n" "$name" "$(echo "$end - $start" | bc -l)" >&2
    jq -r --arg t "$name" '
      .strategies | to_entries[] | .key as $k | .value |
      "| \($t) | \($k) | \(.unserved_fraction*100*1000|round/1000)% | \(.shortfall_replica_seconds|round) | \(.p99_shortfall_replicas*10|round/10) | \(.mean_time_to_recover_seconds|round) | \(.cost_total*100|round/100) | \(.cost_vm*100|round/100) | \(.cost_aci*100|round/100) | \(.container_groups_created) | \(.peak_burst_replicas) | \(.decisions) |"' "$outdir/$name.json"
    ratios+=("$(jq -r --arg t "$name" "$JQ_RATIO"'
      def r(a; b): ratio(a; b; 100);
      .strategies as $s |
      "| \($t) | \(r($s.spillway.unserved_fraction; $s["virtual-node"].unserved_fraction)) | \(r($s.spillway.cost_total; $s["virtual-node"].cost_total)) | \(r($s.spillway.unserved_fraction; $s["vm-only"].unserved_fraction)) | \(r($s.spillway.cost_total; $s["static-peak"].cost_total)) | \(r($s.spillway.cost_total; $s.oracle.cost_total)) |"' "$outdir/$name.json")")
  done
  echo
  echo "Spillway against the others (the long-term bar: unserved ≤ 0.1x vm-only's at ≤ 1.25x the oracle's cost):"
  echo
  echo "| trace | unserved vs virtual-node | cost vs virtual-node | unserved vs vm-only | cost vs static-peak | cost vs oracle |"
  echo "|---|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ratios[@]}"
  # A plain HPA can buy lower unserved demand too: with a lower target (more
  # static headroom). Where virtual-node lands with targetAverageValue 76 and
  # 72 (the default scenario's 80 otherwise) shows whether Spillway's extra
  # spend buys more than the same money spent on headroom would.
  echo
  echo "Virtual-node with more headroom (default scenario, targetAverageValue lowered; unserved / cost):"
  echo
  echo "| trace | spillway (80) | virtual-node (80) | virtual-node (76) | virtual-node (72) |"
  echo "|---|---:|---:|---:|---:|"
  for t in 76 72; do
    scenario_variant "$outdir/default-target$t.yaml" "s/targetAverageValue: 80 /targetAverageValue: $t /" "targetAverageValue: $t "
  done
  for csv in "$traces"/*.csv; do
    [ -e "$csv" ] || continue
    name="$(basename "$csv" .csv)"
    cells=()
    fig() { jq -r --arg s "$2" '.strategies[$s] | "\(.unserved_fraction*100*1000|round/1000)% / \(.cost_total*100|round/100)"' "$1"; }
    cells+=("$(fig "$outdir/$name.json" spillway)" "$(fig "$outdir/$name.json" virtual-node)")
    for t in 76 72; do
      "$bin" simulate --scenario "$outdir/default-target$t.yaml" --trace "$csv" --json "$outdir/$name-target$t.json" --report /dev/null "${extra[@]}" >/dev/null
      cells+=("$(fig "$outdir/$name-target$t.json" virtual-node)")
    done
    echo "| $name | ${cells[0]} | ${cells[1]} | ${cells[2]} | ${cells[3]} |"
  done
  # What the scale-up signal buys: Spillway without it (the HPA answer with
  # burst, drain and placement only) and with `scaleUpMinRisePercent`, which
  # keeps it from acting on readings that are only noise above the 1m rate.
  echo
  echo "Spillway's scale-up signal (default scenario; unserved / cost, and the ratios to virtual-node's):"
  echo
  echo "| trace | no scaleUpQuery | scaleUpQuery (default) | scaleUpMinRisePercent 10 | scaleUpMinRisePercent 25 | virtual-node |"
  echo "|---|---:|---:|---:|---:|---:|"
  sed '/scaleUpQuery:/d' config/scenarios/default.yaml > "$outdir/default-nosignal.yaml"
  for r in 10 25; do
    scenario_variant "$outdir/default-rise$r.yaml" "s/^\( *\)scaleUpQuery: \(.*\)$/\1scaleUpQuery: \2\n\1scaleUpMinRisePercent: $r/" "scaleUpMinRisePercent: $r"
  done
  grep -q scaleUpQuery "$outdir/default-nosignal.yaml" && { echo "error: could not remove scaleUpQuery from the default scenario" >&2; exit 1; }
  for csv in "$traces"/*.csv; do
    [ -e "$csv" ] || continue
    name="$(basename "$csv" .csv)"
    rel() { jq -r "$JQ_RATIO"'.strategies as $s | $s.spillway as $p | $s["virtual-node"] as $v |
      "\($p.unserved_fraction*100*1000|round/1000)% / \($p.cost_total*100|round/100) (\(ratio($p.unserved_fraction; $v.unserved_fraction; 100)), \(ratio($p.cost_total; $v.cost_total; 10000)))"' "$1"; }
    for v in nosignal rise10 rise25; do
      "$bin" simulate --scenario "$outdir/default-$v.yaml" --trace "$csv" --json "$outdir/$name-$v.json" --report /dev/null "${extra[@]}" >/dev/null
    done
    # One cell at a time, so that a failing jq stops the script (set -e).
    no=$(rel "$outdir/$name-nosignal.json")
    def=$(rel "$outdir/$name.json")
    r10=$(rel "$outdir/$name-rise10.json")
    r25=$(rel "$outdir/$name-rise25.json")
    vn=$(jq -r '.strategies["virtual-node"] | "\(.unserved_fraction*100*1000|round/1000)% / \(.cost_total*100|round/100)"' "$outdir/$name.json")
    echo "| $name | $no | $def | $r10 | $r25 | $vn |"
  done
  # What headroom buys (warm replicas on VM room already paid for): off, a
  # smaller cap, and without `minNodes` (only the room below the autoscaler's
  # utilization threshold counts, wherever the pool stands).
  echo
  echo "Spillway's headroom (default scenario with headroom.maxAddReplicas / minNodes; unserved / cost, and the ratios to virtual-node's):"
  echo
  echo "| trace | off (0) | 3 / 3 | 7 / 0 | 7 / 3 (default) | virtual-node |"
  echo "|---|---:|---:|---:|---:|---:|"
  scenario_variant "$outdir/default-hr-off.yaml" "s/maxAddReplicas: 7 /maxAddReplicas: 0 /" "maxAddReplicas: 0 "
  scenario_variant "$outdir/default-hr-3.yaml" "s/maxAddReplicas: 7 /maxAddReplicas: 3 /" "maxAddReplicas: 3 "
  scenario_variant "$outdir/default-hr-nomin.yaml" "s/minNodes: 3 /minNodes: 0 /" "minNodes: 0 "
  for csv in "$traces"/*.csv; do
    [ -e "$csv" ] || continue
    name="$(basename "$csv" .csv)"
    row="| $name"
    for v in hr-off hr-3 hr-nomin; do
      "$bin" simulate --scenario "$outdir/default-$v.yaml" --trace "$csv" --json "$outdir/$name-$v.json" --report /dev/null "${extra[@]}" >/dev/null
      cell=$(rel "$outdir/$name-$v.json")
      row="$row | $cell"
    done
    cell=$(rel "$outdir/$name.json")
    vn=$(jq -r '.strategies["virtual-node"] | "\(.unserved_fraction*100*1000|round/1000)% / \(.cost_total*100|round/100)"' "$outdir/$name.json")
    echo "$row | $cell | $vn |"
  done
  # How much the signal may add: the larger of `predict.maxAddPercent` of the
  # HPA's answer and `predict.maxAddReplicas` (defaults 2 and 2, shared with
  # the forecast). Variants named rRpP; r1p50 is the default before
  # maxAddReplicas existed (50 %, at least one replica).
  echo
  echo "Spillway's scale-up signal capped (default scenario with predict.maxAddReplicas / maxAddPercent; unserved / cost, and the ratios to virtual-node's):"
  echo
  echo "| trace | 1 / 3 % | 1 / 4 % | 1 / 50 % (before) | 3 / 2 % | 2 / 2 % (default) |"
  echo "|---|---:|---:|---:|---:|---:|"
  caps=(r1p3 r1p4 r1p50 r3p2)
  for c in "${caps[@]}"; do
    r=${c#r}; r=${r%p*}; p=${c#*p}
    scenario_variant "$outdir/default-$c.yaml" "s/^\( *\)horizon: \(.*\)$/\1horizon: \2\n\1maxAddPercent: $p\n\1maxAddReplicas: $r/" "maxAddReplicas: $r"
  done
  for csv in "$traces"/*.csv; do
    [ -e "$csv" ] || continue
    name="$(basename "$csv" .csv)"
    row="| $name"
    for c in "${caps[@]}"; do
      "$bin" simulate --scenario "$outdir/default-$c.yaml" --trace "$csv" --json "$outdir/$name-$c.json" --report /dev/null "${extra[@]}" >/dev/null
      cell=$(rel "$outdir/$name-$c.json")
      row="$row | $cell"
    done
    cell=$(rel "$outdir/$name.json")
    echo "$row | $cell |"
  done
  echo
  printf 'Unserved vs vm-only with the earlier default (maxAddPercent 50, maxAddReplicas 1):'
  for csv in "$traces"/*.csv; do
    [ -e "$csv" ] || continue
    name="$(basename "$csv" .csv)"
    printf ' %s %s;' "$name" "$(jq -r "$JQ_RATIO"'ratio(.strategies.spillway.unserved_fraction; .strategies["vm-only"].unserved_fraction; 100)' "$outdir/$name-r1p50.json")"
  done
  echo
  # The comparison at other seeds (ACI and node latencies, failures): is the
  # default seed's verdict luck? Five seeds, Spillway's ratios to virtual-node.
  echo
  echo "Spillway / virtual-node (and / vm-only) at seeds 1–5 (default scenario; min, median, max over the seeds):"
  echo
  echo "| trace | unserved ratio | cost ratio | seeds where Spillway's unserved ≤ virtual-node's | seeds where its cost ≤ virtual-node's | unserved vs vm-only |"
  echo "|---|---:|---:|---:|---:|---:|"
  for variant in "" r1p50; do
    if [ "$variant" = r1p50 ]; then
      echo
      echo "The same with the earlier default (predict.maxAddPercent 50, maxAddReplicas 1):"
      echo
      echo "| trace | unserved ratio | cost ratio | seeds where Spillway's unserved ≤ virtual-node's | seeds where its cost ≤ virtual-node's | unserved vs vm-only |"
      echo "|---|---:|---:|---:|---:|---:|"
    fi
    scenario=()
    [ -n "$variant" ] && scenario=(--scenario "$outdir/default-$variant.yaml")
    for csv in "$traces"/*.csv; do
      [ -e "$csv" ] || continue
      trace="$(basename "$csv" .csv)"
      name="$trace$variant"
      for seed in 1 2 3 4 5; do
        "$bin" simulate "${scenario[@]}" --seed "$seed" --trace "$csv" --json "$outdir/$name-seed$seed.json" --report /dev/null "${extra[@]}" >/dev/null
      done
      row=$(jq -s -r --arg t "$trace" '
        def spread(f; k): (map(f) | sort) as $v | "\($v[0]*k|round/k)x / \($v[2]*k|round/k)x / \($v[4]*k|round/k)x";
        map(.strategies as $s | {u: (if $s["virtual-node"].unserved_fraction > 0 then $s.spillway.unserved_fraction / $s["virtual-node"].unserved_fraction elif $s.spillway.unserved_fraction > 0 then 1e9 else 1 end),
                                 c: ($s.spillway.cost_total / $s["virtual-node"].cost_total),
                                 v: (if $s["vm-only"].unserved_fraction > 0 then $s.spillway.unserved_fraction / $s["vm-only"].unserved_fraction else 0 end)}) |
        "| \($t) | \(spread(.u; 1000)) | \(spread(.c; 10000)) | \(map(select(.u <= 1)) | length)/5 | \(map(select(.c <= 1)) | length)/5 | \(spread(.v; 1000)) |"' \
        "$outdir/$name"-seed[1-5].json)
      echo "$row"
    done
  done
  # A peak larger than the burst's caps (burst.maxReplicas 100 of the
  # default scenario): what the burst side cannot take must reach the
  # cluster autoscaler (vmOverflow: auto leaves it Pending).
  echo
  echo "At a larger peak (--peak-replicas 200, beyond the default scenario's burst.maxReplicas 100; unserved / cost):"
  echo
  echo "| trace | spillway | virtual-node | vm-only | spillway vs virtual-node (unserved, cost) |"
  echo "|---|---:|---:|---:|---:|"
  for csv in "$traces"/*.csv; do
    [ -e "$csv" ] || continue
    name="$(basename "$csv" .csv)"
    "$bin" simulate --trace "$csv" --peak-replicas 200 --json "$outdir/$name-peak200.json" --report /dev/null "${extra[@]}" >/dev/null
    jq -r --arg t "$name" "$JQ_RATIO"'.strategies as $s |
      def fig(x): "\(x.unserved_fraction*100*1000|round/1000)% / \(x.cost_total*100|round/100)";
      "| \($t) | \(fig($s.spillway)) | \(fig($s["virtual-node"])) | \(fig($s["vm-only"])) | \(ratio($s.spillway.unserved_fraction; $s["virtual-node"].unserved_fraction; 100)), \(ratio($s.spillway.cost_total; $s["virtual-node"].cost_total; 1000)) |"' "$outdir/$name-peak200.json"
  done
  # Standby pools (`simulate --standby-pool`): the default policy without a
  # pool (spillway) and with one (spillway-standby), from the same run.
  echo
  echo "Standby pools (default scenario, seed 42; spillway without → spillway-standby with the pool):"
  echo
  echo "| trace | pool | unserved without → with | shortfall r·s without → with | cost without → with | of which pool | hits / misses |"
  echo "|---|---|---:|---:|---:|---:|---:|"
  for csv in "$traces"/*.csv; do
    [ -e "$csv" ] || continue
    name="$(basename "$csv" .csv)"
    for pool in 5 forecast:10; do
      "$bin" simulate --trace "$csv" --standby-pool "$pool" --json "$outdir/$name-pool.json" --report /dev/null "${extra[@]}" >/dev/null
      jq -r --arg t "$name" --arg pool "$pool" '.strategies as $s | $s.spillway as $a | $s["spillway-standby"] as $b |
        def pct(x): "\(x*100*1000|round/1000)%";
        def usd(x): "\(x*100|round/100)";
        "| \($t) | \(if $pool == "5" then "fixed 5" else "forecast ≤ 10" end) | \(pct($a.unserved_fraction)) → \(pct($b.unserved_fraction)) | \($a.shortfall_replica_seconds|round) → \($b.shortfall_replica_seconds|round) | \(usd($a.cost_total)) → \(usd($b.cost_total)) | \(usd($b.cost_pool)) | \($b.pool_hits) / \($b.pool_misses) |"' "$outdir/$name-pool.json"
    done
  done
} > "$out"
cat "$out"
echo "written to $out (reports and JSON next to it)" >&2
