//! The HTML page: the verdict first, then the table, then the charts.

use std::fmt::Write;

use super::charts;
use crate::strategies::Strategy;
use crate::{Outcome, SimError};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}×", a / b)
    } else if a > 0.0 {
        "∞".into()
    } else {
        "—".into()
    }
}

/// Title, y axis, value of a point, caption.
type Chart<'a> = (&'a str, &'a str, fn(&crate::Point) -> f64, &'a str);

/// Renders the report for `outcome`.
pub fn render(o: &Outcome) -> Result<String, SimError> {
    let rep = |e: String| SimError::Report(e);
    let fig = |s: Strategy| o.get(s).map(|r| r.figures.clone()).unwrap_or_default();
    let (sp, vm, peak, orc) = (
        fig(Strategy::Spillway),
        fig(Strategy::VmOnly),
        fig(Strategy::StaticPeak),
        fig(Strategy::Oracle),
    );
    let days = o.simulated_seconds as f64 / 86400.0;
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Spillway simulation: {name}</title>
<style>
body{{font:15px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}}
h1{{font-size:1.5em;margin-bottom:.2em}} .sub{{color:#666;margin-top:0}}
.cards{{display:flex;gap:1em;flex-wrap:wrap;margin:1.2em 0}}
.card{{flex:1 1 200px;border:1px solid #ddd;border-radius:8px;padding:.8em 1em}}
.card b{{display:block;font-size:1.6em}} .card span{{color:#666;font-size:.9em}}
table{{border-collapse:collapse;width:100%;font-size:.9em;margin:1em 0}}
th,td{{padding:.35em .5em;border-bottom:1px solid #eee;text-align:right}} th:first-child,td:first-child{{text-align:left}}
tr.spillway td{{font-weight:600}} figure{{margin:1.5em 0}} figcaption{{color:#666;font-size:.9em}}
svg{{max-width:100%;height:auto}}
</style></head><body>
<h1>Spillway simulation: {name}</h1>
<p class="sub">{secs} simulated seconds ({days:.2} days) · seed {seed} · demand: {src} · one ready replica serves {cpr} {unit}</p>
<div class="cards">
<div class="card"><b>{unserved:.3}%</b><span>of demand unserved by Spillway; vm-only: {vm_unserved:.3}% ({ur} of vm-only's)</span></div>
<div class="card"><b>{cost:.2} {cur}</b><span>Spillway's cost: {vs_peak} static-peak's, {vs_oracle} the oracle's lower bound</span></div>
<div class="card"><b>{groups}</b><span>container groups created; peak {peak_burst} burst replicas; {decisions} decisions</span></div>
</div>
<table><thead><tr><th>strategy</th><th>unserved</th><th>shortfall replica·s</th><th>p99 shortfall (replicas)</th><th>mean time to recover (s)</th><th>cost ({cur})</th><th>VM</th><th>ACI</th><th>groups created</th><th>peak burst</th><th>decisions</th></tr></thead><tbody>
"#,
        name = esc(&o.scenario),
        secs = o.simulated_seconds,
        seed = o.seed,
        src = esc(&o.demand_source),
        cpr = o.capacity_per_replica,
        unit = esc(&o.unit),
        unserved = sp.unserved_fraction * 100.0,
        vm_unserved = vm.unserved_fraction * 100.0,
        ur = ratio(sp.unserved_fraction, vm.unserved_fraction),
        cost = sp.cost_total,
        cur = esc(&o.currency),
        vs_peak = ratio(sp.cost_total, peak.cost_total),
        vs_oracle = ratio(sp.cost_total, orc.cost_total),
        groups = sp.container_groups_created,
        peak_burst = sp.peak_burst_replicas,
        decisions = sp.decisions,
    );
    for r in &o.runs {
        let f = &r.figures;
        let _ = writeln!(
            h,
            "<tr class=\"{n}\"><td>{n}</td><td>{:.3}%</td><td>{:.0}</td><td>{:.1}</td><td>{:.0}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            f.unserved_fraction * 100.0,
            f.shortfall_replica_seconds,
            f.p99_shortfall_replicas,
            f.mean_time_to_recover_seconds,
            f.cost_total,
            f.cost_vm,
            f.cost_aci,
            f.container_groups_created,
            f.peak_burst_replicas,
            f.decisions,
            n = r.strategy.name(),
        );
    }
    h.push_str("</tbody></table>\n<p class=\"sub\">The oracle is a lower bound on the cost of serving every second's demand (see the simulator README); its other columns are zero by construction.</p>\n");
    for r in o.runs.iter().filter(|r| !r.series.is_empty()) {
        let svg = charts::capacity(r, &o.unit).map_err(rep)?;
        let _ = writeln!(
            h,
            "<figure>{svg}<figcaption>Blue: capacity of Ready VM replicas; orange: ACI replicas on top. Where the black demand line rises above the fill, demand goes unserved.</figcaption></figure>"
        );
    }
    let charts: [Chart<'_>; 4] = [
        (
            "Burst replicas (live container groups)",
            "replicas",
            |p| p.burst_replicas,
            "Maximum per time bucket.",
        ),
        (
            "Pending pods",
            "pods",
            |p| p.pending_pods,
            "Pods waiting for a node: what the cluster autoscaler reacts to. Maximum per time bucket.",
        ),
        (
            "VM nodes (Ready + booting)",
            "nodes",
            |p| p.nodes,
            "Billed nodes, mean per time bucket.",
        ),
        (
            "Cumulative cost",
            &o.currency,
            |p| p.cost_cumulative,
            "VM nodes plus ACI container groups.",
        ),
    ];
    for (title, y, f, caption) in charts {
        let svg = charts::lines(&o.runs, title, y, f).map_err(rep)?;
        let _ = writeln!(
            h,
            "<figure>{svg}<figcaption>{}</figcaption></figure>",
            esc(caption)
        );
    }
    let _ = writeln!(
        h,
        "<p class=\"sub\">Oracle lower bound: {:.2} {}.</p></body></html>",
        orc.cost_total,
        esc(&o.currency)
    );
    Ok(h)
}
