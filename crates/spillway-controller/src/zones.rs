//! `burst.zones: auto` in the tick: the location's zones from the backend,
//! substituted into the policy the planner sees. Discovery never blocks
//! creates: while no list is known the policy plans without zones, as
//! without `burst.zones`, and says why (`/status`,
//! `spillway_reconcile_errors_total{error="zones_unresolved"}`).

use std::sync::Arc;

use spillway_core::time::Timestamp;
use tracing::{info, warn};

use crate::controller::{Controller, PolicyRuntime};
use crate::seams::burst::BurstBackend;
use crate::status::ZonesStatus;

/// The error kind of a failed zone read.
pub const ZONES_UNRESOLVED: &str = "zones_unresolved";

impl<T: Send + Sync + 'static> Controller<T> {
    /// Fills `rt.policy`'s zones from the backend when it says `auto`; shows
    /// the zones planned over in `/status` either way.
    pub(crate) async fn resolve_zones(
        &self,
        rt: &mut PolicyRuntime,
        backend: &dyn BurstBackend<T>,
        now: Timestamp,
    ) {
        let Some(b) = rt.policy.burst.as_ref() else { return };
        let Some(location) = rt.policy.auto_zones_location().map(str::to_string) else {
            if !b.zones.is_empty() {
                self.status.record_zones(
                    &rt.policy.name,
                    Some(ZonesStatus {
                        source: "list",
                        location: b.locations.first().cloned(),
                        effective: b.zones.clone(),
                        error: None,
                    }),
                );
            }
            return;
        };
        let answer = backend.zones(&location, now).await;
        let zones = answer.zones.clone().unwrap_or_default();
        if let Some(next) = rt.policy.with_zones(&zones) {
            info!(%location, ?zones, "burst.zones: auto: planning over the location's zones");
            rt.policy = Arc::new(next);
        }
        let error = answer.error.as_ref().map(|(message, _)| {
            let kept = match &answer.zones {
                Some(z) => format!("planning over the last known zones {z:?}"),
                None => "planning without zones until a read succeeds".to_string(),
            };
            format!("burst.zones: auto: reading the zones of {location} failed: {message}; {kept}")
        });
        if let Some((_, label)) = &answer.error {
            self.telemetry
                .reconcile_errors
                .with_label_values(&[&rt.policy.name, ZONES_UNRESOLVED])
                .inc();
            // Logged and listed once per distinct failure, not every tick.
            if rt.zones_error != error {
                warn!(%location, kind = *label, error = error.as_deref().unwrap_or_default(), "zone discovery failed");
                if let Some(e) = &error {
                    self.status.record_error(&rt.policy.name, e.clone());
                }
            }
        } else if rt.zones_error.is_some() {
            info!(%location, "zone discovery recovered");
        }
        rt.zones_error = error.clone();
        self.status.record_zones(
            &rt.policy.name,
            Some(ZonesStatus {
                source: "auto",
                location: Some(location),
                effective: zones,
                error,
            }),
        );
    }
}
