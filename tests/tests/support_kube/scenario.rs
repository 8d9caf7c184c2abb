//! The scenario shared by the real-API-server tests: the install applied
//! for real, the workload `shop/web` (1.5 CPU a replica: 4 fit the two fake
//! nodes), a load gauge scraped by a real Prometheus, the ACI emulator, the
//! policy document in the ConfigMap, and a kubeconfig holding a token of the
//! ServiceAccount `spillway-system/spillway`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use super::{Cluster, RunProc};
use crate::support_ctl::{EmulatorProc, wait_for, workspace_root};
use crate::support_prom::PromServer;

pub const NS: &str = "spillway-system";
/// The VNet subnet burst groups join (the emulator gives them private IPs).
pub const SUBNET: &str = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/e2e-net/providers/Microsoft.Network/virtualNetworks/e2e-vnet/subnets/aci";
pub const POLL: Duration = Duration::from_millis(200);

/// The policy document: emulator, Prometheus, `web` with burst `burst_max`.
pub fn config(emu: &str, prom: &str, secret: &Path, burst_max: u32) -> Value {
    json!({
        "cluster": { "id": "e2e" },
        "azure": {
            "subscriptionId": "00000000-0000-0000-0000-000000000000",
            "resourceGroup": "e2e-rg",
            "location": "westeurope",
            "auth": { "method": "clientSecret", "tenantId": "e2e-tenant", "clientId": "spillway-e2e",
                      "secretFile": secret.to_string_lossy() },
            "armEndpoint": emu,
            "subnetId": SUBNET,
        },
        "pricing": { "aciVcpuSecond": 0.0000113, "aciGbSecond": 0.0000012, "currency": "USD" },
        "metricSources": { "prometheus": { "url": prom, "timeout": "2s" } },
        "interval": "1s",
        "policies": [{
            "name": "web",
            "target": { "kind": "Deployment", "namespace": "shop", "name": "web" },
            "minReplicas": 2,
            "maxReplicas": 20,
            "metrics": [{ "prometheus": { "query": "sum(web_load)", "targetAverageValue": 100 } }],
            "behavior": {
                "scaleUp": { "policies": [{ "type": "Pods", "value": 10, "period": "5s" }] },
                "scaleDown": { "stabilizationWindow": "5s" },
            },
            "burst": {
                "enabled": true, "maxReplicas": burst_max, "maxHourlyCost": 5, "vmOverflow": "cap",
                "pendingGrace": "5s", "scaleInStabilization": "5s", "drainGrace": "2s", "service": "web",
                // No nameServer: the ClusterIP of kube-system/kube-dns, read from the Service watch.
                "dns": {},
            },
        }],
    })
}

pub fn config_map(doc: &str) -> String {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": { "name": "spillway", "namespace": NS, "labels": { "app.kubernetes.io/name": "spillway" } },
        "data": { "config.yaml": doc },
    })
    .to_string()
}

pub const WORKLOAD: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      containers:
      - name: web
        image: registry.k8s.io/e2e-test-images/agnhost:2.53
        ports: [{ name: http, containerPort: 8080 }]
        resources:
          requests: { cpu: 1500m, memory: 1Gi }
          limits: { cpu: 1500m, memory: 1Gi }
---
apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http }]
"#;

/// The cluster DNS Service as kubeadm and AKS name it; no DNS server runs
/// behind it here, the test needs only its ClusterIP.
pub const CLUSTER_DNS: &str = r#"
apiVersion: v1
kind: Service
metadata: { name: kube-dns, namespace: kube-system, labels: { k8s-app: kube-dns } }
spec:
  selector: { k8s-app: kube-dns }
  ports:
  - { name: dns, port: 53, protocol: UDP }
  - { name: dns-tcp, port: 53, protocol: TCP }
"#;

/// The ClusterIP the API server gave `kube-system/kube-dns`.
pub fn cluster_dns_ip(kube: &Cluster) -> String {
    kube.get_json(&["service", "kube-dns", "-n", "kube-system"])
        .and_then(|s| s["spec"]["clusterIP"].as_str().map(str::to_string))
        .filter(|ip| !ip.is_empty() && ip != "None")
        .expect("kube-system/kube-dns has a ClusterIP")
}

/// Every live group joined [`SUBNET`] and resolves through the cluster DNS
/// (`dns_ip`) with the search list of a `ClusterFirst` pod in `shop`.
pub fn assert_cluster_dns(emu: &EmulatorProc, dns_ip: &str) {
    let st = emu.state();
    let live = st.live();
    assert!(!live.is_empty(), "no live group to check\n{}", st.dump());
    for g in live {
        assert_eq!(
            g.subnet_ids,
            [SUBNET],
            "{} is not in the VNet\n{}",
            g.name,
            st.dump()
        );
        let dns = &g.dns_config;
        assert_eq!(dns["nameServers"], json!([dns_ip]), "{}: dnsConfig {dns}", g.name);
        let search = dns["searchDomains"].as_str().unwrap_or_default();
        assert_eq!(
            search.split_whitespace().collect::<Vec<_>>(),
            ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local"],
            "{}: dnsConfig {dns}",
            g.name
        );
    }
}

/// What the test reads from the cluster and the emulator at one moment.
pub struct World<'a> {
    pub kube: &'a Cluster,
    pub emu: &'a EmulatorProc,
}

impl World<'_> {
    pub fn live(&self) -> usize {
        self.emu.state().live().len()
    }
    /// `spec.replicas` and ready replicas of `shop/web`.
    pub fn web(&self) -> (i64, i64) {
        let d = self
            .kube
            .get_json(&["deployment", "web", "-n", "shop"])
            .unwrap_or_default();
        (
            d["spec"]["replicas"].as_i64().unwrap_or(-1),
            d["status"]["readyReplicas"].as_i64().unwrap_or(0),
        )
    }
    /// Ready endpoints of the slice `shop/spillway-web` (0 when absent).
    pub fn slice_ready(&self) -> usize {
        self.kube
            .get_json(&["endpointslice", "spillway-web", "-n", "shop"])
            .and_then(|s| s["endpoints"].as_array().cloned())
            .map(|eps| eps.iter().filter(|e| e["conditions"]["ready"] == true).count())
            .unwrap_or(0)
    }
    pub fn describe(&self, runs: &[&RunProc]) -> String {
        let mut out = format!("web {:?}, slice ready {}\n", self.web(), self.slice_ready());
        for r in runs {
            out.push_str(&format!(
                "--- {} status ---\n{}\n--- {} log (tail) ---\n{}\n",
                r.identity,
                r.try_status().map(|s| s.to_string()).unwrap_or_else(|e| e),
                r.identity,
                crate::support_ctl::tail(&r.log(), 30)
            ));
        }
        out.push_str(&self.emu.state().dump());
        out
    }
}

pub fn lease_holder(kube: &Cluster) -> Option<String> {
    kube.get_json(&["lease", "spillway-leader", "-n", NS])
        .and_then(|l| l["spec"]["holderIdentity"].as_str().map(str::to_string))
}

pub fn events(kube: &Cluster, ns: &str) -> Vec<Value> {
    kube.get_json(&["events.events.k8s.io", "-n", ns])
        .and_then(|l| l["items"].as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e["reportingController"] == "spillway")
        .collect()
}

/// Everything but the controllers, up and configured.
pub struct Stage {
    pub kube: Cluster,
    pub emu: EmulatorProc,
    pub prom: PromServer,
    pub exporter: LoadGauge,
    pub secret: PathBuf,
    /// The ServiceAccount's kubeconfig.
    pub sa: PathBuf,
    pub logs: PathBuf,
}

impl Stage {
    /// Starts the control plane (`name` picks its state dir), applies
    /// `config/deploy` and the workload, and writes the ConfigMap with
    /// `burst.maxReplicas: burst_max`; the load reads 200 (2 replicas).
    pub fn up(shared: &Path, name: &str, logs: &Path, burst_max: u32) -> Stage {
        let kube = Cluster::start(shared, name, 2);
        kube.kubectl(&["create", "namespace", "shop"]);
        let deploy = workspace_root().join("config/deploy");
        let applied = kube.kubectl(&["apply", "-k", &deploy.to_string_lossy()]);
        eprintln!("{applied}");
        // Its pods pass the namespace's `restricted` Pod Security level.
        wait_for(
            "the installed Deployment spillway-system/spillway available (2 replicas)",
            Duration::from_secs(60),
            POLL,
            || {
                let d = kube.get_json(&["deployment", "spillway", "-n", NS])?;
                (d["status"]["availableReplicas"].as_i64() == Some(2)).then_some(())
            },
            || kube.kubectl(&["get", "pods,events", "-n", NS]),
        );
        kube.apply(WORKLOAD);
        kube.apply(CLUSTER_DNS);
        let exporter = LoadGauge::start();
        exporter.set_gauge("web_load", 200.0);
        let prom = PromServer::start(&[exporter.addr]);
        // Prometheus applies its targets a few seconds after it is ready:
        // the controllers start once it answers the baseline.
        let query = format!("{}/api/v1/query?query=sum%28web_load%29", prom.url());
        wait_for(
            "Prometheus answering sum(web_load) = 200",
            Duration::from_secs(60),
            POLL,
            || {
                crate::support_ctl::get_json(&query)
                    .ok()
                    .filter(|v| v["data"]["result"][0]["value"][1] == "200")
            },
            || prom.log(),
        );
        let emu = EmulatorProc::start(logs);
        let secret = logs.join("client-secret");
        std::fs::write(&secret, "e2e").expect("secret file");
        let sa = kube.service_account_kubeconfig(NS, "spillway", logs);
        let stage = Stage {
            kube,
            emu,
            prom,
            exporter,
            secret,
            sa,
            logs: logs.to_path_buf(),
        };
        stage.kube.apply(&config_map(&stage.good(burst_max)));
        stage
    }

    /// The valid document with `burst.maxReplicas: burst_max`, as JSON text.
    pub fn good(&self, burst_max: u32) -> String {
        config(&self.emu.url, &self.prom.url(), &self.secret, burst_max).to_string()
    }

    pub fn world(&self) -> World<'_> {
        World {
            kube: &self.kube,
            emu: &self.emu,
        }
    }

    /// `spillway run` as the ServiceAccount, electing on `spillway-leader`
    /// (4 s lease), with the emulator as the Azure AD authority.
    pub fn run(&self, identity: &str) -> RunProc {
        let args = [
            "--namespace",
            NS,
            "--config-map",
            "spillway",
            "--lease-duration",
            "4s",
            "--lease-renew-before",
            "3s",
            "--lease-retry-period",
            "1s",
            "--lease-safety",
            "1s",
        ];
        let env = [("AZURE_AUTHORITY_HOST", self.emu.url.as_str())];
        RunProc::start(identity, &self.sa, &args, &env, &self.logs)
    }
}

/// One gauge on `/metrics`, served by a plain thread (HTTP/1.0, one
/// request per connection), for Prometheus to scrape.
pub struct LoadGauge {
    value: std::sync::Arc<std::sync::Mutex<f64>>,
    pub addr: std::net::SocketAddr,
}

impl LoadGauge {
    pub fn start() -> LoadGauge {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the load gauge");
        let addr = listener.local_addr().expect("local addr");
        let value = std::sync::Arc::new(std::sync::Mutex::new(0.0));
        let v = value.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let now = *v.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let body = format!("# TYPE web_load gauge\nweb_load {now}\n");
                let _ = write!(
                    stream,
                    "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        LoadGauge { value, addr }
    }

    /// Sets `web_load` (the only series; `name` is checked).
    pub fn set_gauge(&self, name: &str, v: f64) {
        assert_eq!(name, "web_load", "the load gauge serves only web_load");
        *self
            .value
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = v;
    }
}
