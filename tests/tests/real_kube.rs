//! `spillway run` against a real Kubernetes API server (issue 14): the
//! loopback control plane of `../shared/kube` (v1.36.2, two fake 4-CPU
//! nodes, a fake kubelet), a real Prometheus scraping a load gauge, and the
//! ACI emulator over HTTP. The install manifests (`config/deploy`) are
//! applied for real, and two built `spillway run` processes run out of
//! cluster under the ServiceAccount `spillway-system/spillway` (a token from
//! `kubectl create token`), i.e. with exactly the deploy RBAC.
//!
//! The workload `shop/web` asks 1.5 CPU per replica: 4 fit the nodes
//! (`vmOverflow: cap`), the rest go to ACI. The load is `web_load`, 100 per
//! replica.
//!
//! 1. Two replicas elect a leader on the real Lease `spillway-leader`.
//! 2. Spike 200 → 1000: 10 replicas wanted, the Deployment goes to 4 and the
//!    leader PUTs container groups; it is killed (SIGKILL) right after its
//!    first PUT, while groups provision; the follower takes the Lease,
//!    adopts them and completes the burst: 6 groups, one PUT each, the
//!    EndpointSlice `shop/spillway-web` lists 6 ready endpoints; every group
//!    joined the VNet subnet and resolves through `kube-system/kube-dns`'s
//!    ClusterIP with the `shop` search list (`burst.dns: {}`). The killed
//!    replica restarts and stays a follower.
//! 3. A ConfigMap edit (`burst.maxReplicas` 8 → 3) is applied live; the new
//!    leader reports the drain as an `Unspill` Event on the Deployment.
//! 4. A bad ConfigMap is rejected: status and metric say so, a Warning
//!    Event names the error, the last good configuration keeps running.
//! 5. The load falls: scale-in, every group deleted, the Deployment back to
//!    2, the slice empty. Every ARM write came from the Lease holder.
//!
//! `spillway plan` also runs against the cluster under the ServiceAccount. Printed
//! figures: spike → first PUT, takeover, convergence, edit → applied,
//! scale-in, controller RSS.

mod support_ctl;
mod support_kube;
#[path = "../../crates/spillway-metrics/tests/support/mod.rs"]
mod support_prom;

use std::time::{Duration, Instant};

use serde_json::Value;
use support_ctl::{binaries, metric_sum, wait_for};
use support_kube::harness_or_skip;
use support_kube::scenario::{
    NS, POLL, Stage, assert_cluster_dns, cluster_dns_ip, config_map, events, lease_holder,
};

#[test]
fn run_against_a_real_api_server_under_the_deploy_rbac() {
    let Some(shared) = harness_or_skip("real_kube") else {
        return;
    };
    let t_test = Instant::now();
    binaries();
    let dir = tempfile::tempdir().expect("temp dir");
    let stage = Stage::up(&shared, "real-kube", dir.path(), 8);
    let (kube, emu, prom, exporter) = (&stage.kube, &stage.emu, &stage.prom, &stage.exporter);
    let world = stage.world();
    let good = |burst_max| stage.good(burst_max);
    let mut a = stage.run("a");
    let mut b = stage.run("b");

    // 1. One leader, on the real Lease.
    let leader_id = wait_for(
        "one of the two replicas leading, the other following, the Lease naming the leader",
        Duration::from_secs(30),
        POLL,
        || {
            let (la, lb) = (a.is_leader(), b.is_leader());
            let holder = lease_holder(kube)?;
            let want = match (la, lb) {
                (true, false) => "a",
                (false, true) => "b",
                _ => return None,
            };
            (holder == want).then(|| holder.clone())
        },
        || world.describe(&[&a, &b]),
    );
    let (leader, follower) = if leader_id == "a" {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    eprintln!("leader: {}", leader.identity);
    wait_for(
        "the leader ticking `web` at 2 replicas from the metric, nothing burst",
        Duration::from_secs(30),
        POLL,
        || {
            let s = leader.try_status().ok()?;
            let d = s["policies"]["web"]["lastPlan"]["desiredReplicas"].as_u64()?;
            let read = !support_ctl::has_reason(&s, "web", "metricsMissingHold");
            (d == 2 && read && s["cachesSynced"] == true).then_some(())
        },
        || world.describe(&[leader, follower]),
    );
    assert!(
        emu.state().group_writes().is_empty(),
        "groups written before any spike"
    );

    // `spillway plan` on the same cluster, under the same ServiceAccount.
    let plan = std::process::Command::new(&binaries().spillway)
        .args(["plan", "--namespace", NS])
        .env("KUBECONFIG", &stage.sa)
        .env("AZURE_AUTHORITY_HOST", &emu.url)
        .output()
        .expect("spillway plan");
    let plan_out = String::from_utf8_lossy(&plan.stdout);
    assert!(
        plan.status.success()
            && plan_out
                .lines()
                .any(|l| l.split_whitespace().take(2).eq(["web", "2"])),
        "spillway plan failed ({}):\n{plan_out}\n{}",
        plan.status,
        String::from_utf8_lossy(&plan.stderr)
    );
    eprintln!("spillway plan:\n{plan_out}");

    // 2. The spike; the leader is killed right after its first PUT.
    exporter.set_gauge("web_load", 1000.0);
    let t_spike = Instant::now();
    let mut in_prometheus = None;
    let query = format!("{}/api/v1/query?query=sum%28web_load%29", prom.url());
    let first_put = wait_for(
        "the first container group PUT after the spike",
        Duration::from_secs(30),
        Duration::from_millis(50),
        || {
            if in_prometheus.is_none()
                && support_ctl::get_json(&query).is_ok_and(|v| v["data"]["result"][0]["value"][1] == "1000")
            {
                in_prometheus = Some(t_spike.elapsed());
            }
            emu.state()
                .group_writes()
                .iter()
                .any(|w| w.is_put())
                .then(|| t_spike.elapsed())
        },
        || world.describe(&[leader, follower]),
    );
    let in_prometheus = in_prometheus.unwrap_or(first_put);
    let rss_leader = leader.proc.rss_kib().unwrap_or(0);
    leader.proc.kill9();
    let t_kill = Instant::now();
    let writes_at_kill = emu.state().writes.len();
    let takeover = wait_for(
        "the follower taking the Lease after the leader's SIGKILL",
        Duration::from_secs(20),
        POLL,
        || {
            (follower.is_leader() && lease_holder(kube).as_deref() == Some(&follower.identity))
                .then(|| t_kill.elapsed())
        },
        || world.describe(&[follower]),
    );
    let mut max_live = 0;
    let converged = wait_for(
        "the burst converged: web at 4 on the VMs, 6 groups live, 6 ready endpoints in the slice",
        Duration::from_secs(60),
        POLL,
        || {
            let live = world.live();
            max_live = max_live.max(live);
            (live == 6 && world.web() == (4, 4) && world.slice_ready() == 6).then(|| t_spike.elapsed())
        },
        || world.describe(&[follower]),
    );
    let rss_peak = follower.proc.rss_kib().unwrap_or(0);
    // A VNet policy with `burst.dns: {}`: the groups carry the cluster DNS
    // Service's ClusterIP, found by the controller itself.
    assert_cluster_dns(emu, &cluster_dns_ip(kube));
    let slice = kube
        .get_json(&["endpointslice", "spillway-web", "-n", "shop"])
        .expect("the slice");
    assert_eq!(
        slice["metadata"]["labels"]["kubernetes.io/service-name"], "web",
        "{slice}"
    );
    assert_eq!(
        slice["metadata"]["labels"]["endpointslice.kubernetes.io/managed-by"],
        "spillway.io"
    );
    assert_eq!(
        slice["ports"][0]["port"], 8080,
        "the Service's target port: {slice}"
    );
    // The killed replica comes back as a follower and stays one.
    let old_id = leader.identity.clone();
    *leader = stage.run(&old_id);
    std::thread::sleep(Duration::from_secs(3));
    assert!(
        !leader.is_leader(),
        "the restarted replica took the Lease from a live leader"
    );

    // 3. A live ConfigMap edit: burst.maxReplicas 8 -> 3.
    kube.apply(&config_map(&good(3)));
    let t_edit = Instant::now();
    let edit_applied = wait_for(
        "the edited ConfigMap applied: 3 groups live, 3 ready endpoints",
        Duration::from_secs(40),
        POLL,
        || (world.live() == 3 && world.slice_ready() == 3).then(|| t_edit.elapsed()),
        || world.describe(&[follower]),
    );

    // Events on the Deployment: the new leader's drains and deletes (the
    // old one was killed before it could report its creates).
    let unspill = wait_for(
        "an Unspill Event on shop/web from the leader",
        Duration::from_secs(20),
        POLL,
        || {
            events(kube, "shop")
                .into_iter()
                .find(|e| e["regarding"]["name"] == "web" && e["action"] == "Unspill")
        },
        || format!("{:?}", events(kube, "shop")),
    );
    eprintln!(
        "event: {} {}: {}",
        unspill["reason"], unspill["action"], unspill["note"]
    );
    assert_eq!(
        unspill["reportingInstance"], follower.identity,
        "the Event names the replica that acted"
    );

    // 4. A bad ConfigMap: rejected, reported, the last good one kept.
    let bad = good(3).replace("\"interval\":\"1s\"", "\"interval\":\"banana\"");
    assert_ne!(bad, good(3), "the bad document must differ");
    kube.apply(&config_map(&bad));
    let errors = wait_for(
        "the bad ConfigMap reported (/status configValid false with its errors, spillway_config_valid 0)",
        Duration::from_secs(20),
        POLL,
        || {
            let s = follower.try_status().ok()?;
            let valid = metric_sum(&follower.metrics(), "spillway_config_valid", &[]);
            let errors = s["configErrors"].as_array().filter(|e| !e.is_empty())?;
            (s["configValid"] == false && valid == 0.0).then(|| Value::Array(errors.clone()).to_string())
        },
        || world.describe(&[follower]),
    );
    assert!(errors.contains("interval"), "the error names the field: {errors}");
    let warning = wait_for(
        "a Warning Event on the ConfigMap naming the error",
        Duration::from_secs(20),
        POLL,
        || {
            events(kube, NS).into_iter().find(|e| {
                e["type"] == "Warning"
                    && e["regarding"]["kind"] == "ConfigMap"
                    && e["note"].to_string().contains("interval")
            })
        },
        || format!("{:?}", events(kube, NS)),
    );
    eprintln!("warning event: {}: {}", warning["reason"], warning["note"]);
    let tick_before = follower
        .try_status()
        .ok()
        .and_then(|s| s["policies"]["web"]["lastTick"].as_i64());
    std::thread::sleep(Duration::from_secs(4));
    let s = follower.try_status().expect("status");
    assert!(
        s["policies"]["web"]["lastTick"].as_i64() > tick_before,
        "the last good configuration stopped ticking: {s}"
    );
    assert_eq!(
        world.live(),
        3,
        "the last good configuration (burst max 3) must keep running"
    );

    // 5. Restore, then the load falls: scale-in and deletion.
    kube.apply(&config_map(&good(3)));
    wait_for(
        "the restored ConfigMap valid again",
        Duration::from_secs(20),
        POLL,
        || (follower.try_status().ok()?["configValid"] == true).then_some(()),
        || world.describe(&[follower]),
    );
    exporter.set_gauge("web_load", 200.0);
    let t_fall = Instant::now();
    let scale_in = wait_for(
        "scale-in: every group deleted, web back to 2, the slice without ready endpoints",
        Duration::from_secs(90),
        POLL,
        || {
            let st = emu.state();
            let gone = st.groups.iter().all(|g| g.deleted_at.is_some());
            (gone && world.web().0 == 2 && world.slice_ready() == 0).then(|| t_fall.elapsed())
        },
        || world.describe(&[follower, leader]),
    );
    let rss_end = follower.proc.rss_kib().unwrap_or(0);

    // The whole history: one PUT per group, every write succeeded, the
    // leader of the moment wrote each, nothing leaked.
    let st = emu.state();
    let dump = st.dump();
    let writes = st.group_writes();
    assert!(
        writes.iter().all(|w| (200..300).contains(&w.status)),
        "a write failed\n{dump}"
    );
    let puts = writes.iter().filter(|w| w.is_put()).count();
    assert_eq!(
        puts,
        st.groups.len(),
        "a group was PUT twice (not adopted)\n{dump}"
    );
    assert!(
        max_live <= 6,
        "{max_live} groups live at once; no plan wanted more than 6\n{dump}"
    );
    for (i, w) in st.writes.iter().enumerate().filter(|(_, w)| w.group().is_some()) {
        let want = if i < writes_at_kill {
            &old_id
        } else {
            &follower.identity
        };
        assert!(
            w.user_agent.contains(&format!("({want})")),
            "write #{i} {} {} by {:?}, but {want} held the Lease\n{dump}",
            w.method,
            w.path,
            w.user_agent
        );
    }
    assert!(st.live().is_empty(), "groups left behind\n{dump}");

    eprintln!(
        "REAL-KUBE FIGURES: control plane start {:.1}s; spike -> in Prometheus {:.2}s -> first PUT {:.2}s; leader SIGKILL -> takeover {:.2}s; \
         spike -> converged (6 groups, 6 ready endpoints) {:.1}s; ConfigMap edit -> applied {:.1}s; \
         load fall -> all groups deleted {:.1}s; {} groups created; controller RSS {} KiB (leader before kill), \
         {} KiB (peak), {} KiB (end); test {:.0}s",
        kube.started_in.as_secs_f64(),
        in_prometheus.as_secs_f64(),
        first_put.as_secs_f64(),
        takeover.as_secs_f64(),
        converged.as_secs_f64(),
        edit_applied.as_secs_f64(),
        scale_in.as_secs_f64(),
        st.groups.len(),
        rss_leader,
        rss_peak,
        rss_end,
        t_test.elapsed().as_secs_f64()
    );
}
