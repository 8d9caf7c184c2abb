//! The spill planner (DESIGN.md §4): one pure function from what a tick sees
//! to what should change.

mod types;

pub use types::*;

/// Plans one tick of one policy. Pure: same input and state, same output.
pub fn plan(input: &PlanInput<'_>, state: &PolicyState) -> (Plan, PolicyState) {
    let next = state.clone();
    let spec = input.workload.spec_replicas;
    (
        Plan {
            policy: input.policy.name.clone(),
            at: input.now,
            desired_replicas: spec,
            deployment_replicas: spec,
            scale: None,
            burst_target: 0,
            creates: Vec::new(),
            drains: Vec::new(),
            deletes: Vec::new(),
            vm: VmCounts::default(),
            burst: BurstCounts::default(),
            vm_fit: 0,
            burst_hourly_cost: 0.0,
            reasons: Vec::new(),
        },
        next,
    )
}
