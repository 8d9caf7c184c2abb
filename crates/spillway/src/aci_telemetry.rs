//! ARM request metrics: the client's observer feeding the controller's registry.

use spillway_controller::telemetry::Metrics;

/// Counts and times every ARM attempt by operation and status code.
pub struct AciObserver(pub Metrics);

impl AciObserver {
    /// Creates at 0 the ARM series every controller produces, so that the
    /// first requests of a kind count in `rate()`/`increase()` (a series
    /// born with its first increment hides that increment from both).
    pub fn init_series(&self) {
        use spillway_aci::Operation as Op;
        let ops = [
            Op::CreateOrUpdate,
            Op::Get,
            Op::Delete,
            Op::List,
            Op::ListUsage,
            Op::PollOperation,
            Op::ProfileWrite,
            Op::ProfileRead,
            Op::PoolWrite,
            Op::PoolRead,
            Op::ProviderRead,
        ];
        for op in ops {
            let _ = self.0.aci_request_duration.with_label_values(&[op.as_str()]);
        }
        // The success codes of the Container Instances REST API.
        for (op, codes) in [
            (Op::CreateOrUpdate, &["200", "201"][..]),
            (Op::Get, &["200"]),
            (Op::Delete, &["200", "202", "204"]),
            (Op::List, &["200"]),
            (Op::ListUsage, &["200"]),
            (Op::PollOperation, &["200", "202"]),
            (Op::ProfileWrite, &["200", "201"]),
            (Op::ProfileRead, &["200"]),
            (Op::PoolWrite, &["200", "201", "202"]),
            (Op::PoolRead, &["200"]),
            (Op::ProviderRead, &["200"]),
        ] {
            for code in codes {
                let _ = self.0.aci_requests.with_label_values(&[op.as_str(), code]);
            }
            // Throttling is the one failure the dashboard reads by code
            // (`code="429"`): it starts at 0 too, so the panel says 0, not
            // "No data".
            let _ = self.0.aci_requests.with_label_values(&[op.as_str(), "429"]);
        }
    }
}

impl spillway_aci::RequestObserver for AciObserver {
    fn on_request(&self, e: &spillway_aci::RequestEvent) {
        let code = match (e.status, e.error) {
            (Some(s), _) => s.to_string(),
            (None, Some(label)) => label.to_string(),
            (None, None) => "none".to_string(),
        };
        let op = e.operation.as_str();
        self.0.aci_requests.with_label_values(&[op, &code]).inc();
        self.0
            .aci_request_duration
            .with_label_values(&[op])
            .observe(e.elapsed.as_secs_f64());
    }
}

/// The observer for a new ARM client, with the success series created at 0
/// and the ARM and translation failure kinds declared, so that each policy's
/// `spillway_reconcile_errors_total{error="throttled"}` (and the rest) exists
/// at 0 before the first failure.
pub fn observer(metrics: &Metrics) -> std::sync::Arc<AciObserver> {
    metrics.declare_error_kinds(spillway_aci::AciError::LABELS);
    metrics.declare_error_kinds(spillway_aci::translate::TranslateError::LABELS);
    let o = AciObserver(metrics.clone());
    o.init_series();
    std::sync::Arc::new(o)
}

/// Fences the ARM client's writes with the leader gate: a PUT or DELETE, or
/// a retry of one, is sent only while the Lease has time left.
pub fn write_gate(gate: spillway_controller::LeaderGate) -> spillway_aci::WriteGate {
    std::sync::Arc::new(move || gate.remaining())
}
