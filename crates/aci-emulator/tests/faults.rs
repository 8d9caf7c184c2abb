//! Every fault over real HTTP, set through the admin endpoint or the typed handle API.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

mod common;

use std::time::{Duration, Instant};

use aci_emulator::{
    CapacityFault, CapacityMode, CrashFault, EmulatorConfig, Faults, ForcedThrottle, ImageFault,
    ImageFaultMode, LatencyDist, ThrottleScope,
};
use common::*;
use serde_json::{Value, json};

async fn patch_admin(env: &Env, what: &str, patch: Value) -> Value {
    let r = env
        .http
        .patch(format!("{}/_emulator/{what}", env.base()))
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn arm_write_bucket_answers_429_with_retry_after() {
    let env = start(fast_config()).await;
    patch_admin(
        &env,
        "limits",
        json!({"armWrites": {"capacity": 2, "refillPerSec": 0.25}}),
    )
    .await;
    assert_eq!(
        env.put("rg", "a-1", &group_body("nginx")).await.status().as_u16(),
        201
    );
    let r = env.put("rg", "a-2", &group_body("nginx")).await;
    assert_eq!(
        header(&r, "x-ms-ratelimit-remaining-subscription-writes").as_deref(),
        Some("0")
    );
    let r = env.put("rg", "a-3", &group_body("nginx")).await;
    let retry: u64 = header(&r, "retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=4).contains(&retry), "{retry}");
    assert_eq!(
        error_code(r).await,
        (429, "SubscriptionRequestsThrottled".to_owned())
    );
    // Reads have their own bucket and still pass.
    let r = env.get(&env.group_url("rg", "a-1")).await;
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        header(&r, "x-ms-ratelimit-remaining-subscription-reads").as_deref(),
        Some("249")
    );
    // The refused request created nothing.
    assert_eq!(env.get(&env.group_url("rg", "a-3")).await.status().as_u16(), 404);
}

#[tokio::test]
async fn forced_throttle_hits_the_next_requests_only() {
    let env = start(fast_config()).await;
    env.emu.update_faults(|f| {
        f.force_throttle = Some(ForcedThrottle {
            count: 2,
            retry_after_secs: 3600,
            scope: ThrottleScope::Reads,
        })
    });
    for _ in 0..2 {
        let r = env.get(&env.group_url("rg", "x")).await;
        assert_eq!(header(&r, "retry-after").as_deref(), Some("3600"));
        assert_eq!(r.status().as_u16(), 429);
    }
    assert_eq!(env.get(&env.group_url("rg", "x")).await.status().as_u16(), 404);
    assert!(env.emu.faults().force_throttle.is_none());
}

#[tokio::test]
async fn aci_create_window_answers_429() {
    let env = start(fast_config()).await;
    patch_admin(&env, "limits", json!({"aciCreates": {"per5m": 2, "per1h": 300}})).await;
    let r = env.put("rg", "w-1", &group_body("nginx")).await;
    assert_eq!(
        header(&r, "x-ms-ratelimit-remaining-subscription-resource-requests-pt5m").as_deref(),
        Some("1")
    );
    env.put("rg", "w-2", &group_body("nginx")).await;
    let r = env.put("rg", "w-3", &group_body("nginx")).await;
    let retry: u64 = header(&r, "retry-after").unwrap().parse().unwrap();
    assert!((290..=300).contains(&retry), "{retry}");
    assert_eq!(error_code(r).await.0, 429);
    // An update of an existing group is not a create.
    assert_eq!(
        env.put("rg", "w-1", &group_body("nginx")).await.status().as_u16(),
        200
    );
}

#[tokio::test]
async fn a_scaled_create_window_gives_a_short_retry_after() {
    let env = start(fast_config()).await;
    patch_admin(
        &env,
        "limits",
        json!({"aciCreates": {"per5m": 1, "per1h": 300}, "aciWindowScale": 0.005}),
    )
    .await;
    assert_eq!(
        env.put("rg", "s-1", &group_body("nginx")).await.status().as_u16(),
        201
    );
    let r = env.put("rg", "s-2", &group_body("nginx")).await;
    let retry: u64 = header(&r, "retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "a 1.5 s window: {retry}");
    assert_eq!(error_code(r).await.0, 429);
    tokio::time::sleep(std::time::Duration::from_secs(retry)).await;
    assert_eq!(
        env.put("rg", "s-2", &group_body("nginx")).await.status().as_u16(),
        201
    );
}

#[tokio::test]
async fn region_quota_gives_container_group_quota_reached() {
    let env = start(fast_config()).await;
    patch_admin(
        &env,
        "limits",
        json!({"regionQuotas": {"westeurope": {"containerGroups": 2, "standardCores": 100}}}),
    )
    .await;
    env.put("rg", "q-1", &group_body("nginx")).await;
    env.put("rg", "q-2", &group_body("nginx")).await;
    let r = env.put("rg", "q-3", &group_body("nginx")).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "ContainerGroupQuotaReached");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("'ContainerGroups' exceeded in region 'westeurope'")
    );
    // Other regions keep the default quota.
    let mut north = group_body("nginx");
    north["location"] = json!("North Europe");
    assert_eq!(env.put("rg", "q-4", &north).await.status().as_u16(), 201);
    // Cores: 1.5 + 1 requested over a limit of 2.
    env.emu.update_limits(|l| {
        l.region_quotas.clear();
        l.quota.standard_cores = 3;
    });
    let mut big = group_body("nginx");
    big["properties"]["containers"][0]["properties"]["resources"]["requests"]["cpu"] = json!(1.5);
    let (status, code) = error_code(env.put("rg", "q-5", &big).await).await;
    assert_eq!((status, code.as_str()), (400, "ContainerGroupQuotaReached"));
    // Deleting frees quota once the deletion completes.
    env.emu.update_limits(|l| l.quota.container_groups = 3);
    let r = env.delete("rg", "q-1").await;
    env.wait_op(&header(&r, "azure-asyncoperation").unwrap()).await;
    assert_eq!(
        env.put("rg", "q-6", &group_body("nginx")).await.status().as_u16(),
        201
    );
}

#[tokio::test]
async fn capacity_errors_sync_and_async() {
    let env = start(fast_config()).await;
    env.emu.update_faults(|f| {
        f.capacity = vec![CapacityFault {
            region: "westeurope".into(),
            mode: CapacityMode::Sync,
        }]
    });
    let (status, code) = error_code(env.put("rg", "c-1", &group_body("nginx")).await).await;
    assert_eq!((status, code.as_str()), (409, "ServiceUnavailable"));
    assert_eq!(env.get(&env.group_url("rg", "c-1")).await.status().as_u16(), 404);

    env.emu.update_faults(|f| {
        f.capacity = vec![CapacityFault {
            region: "*".into(),
            mode: CapacityMode::Async,
        }]
    });
    let (op, g) = env.create_and_wait("rg", "c-2", &group_body("nginx")).await;
    assert_eq!(op["status"], "Failed");
    assert_eq!(op["properties"]["events"][0]["name"], "InsufficientCapacity.");
    assert!(
        op["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not available in the location 'westeurope'")
    );
    assert_eq!(g["properties"]["provisioningState"], "Failed");
}

#[tokio::test]
async fn failing_image_pull_fails_the_group_with_events() {
    let env = start(fast_config()).await;
    env.emu.update_faults(|f| {
        f.failing_images = vec![
            ImageFault {
                pattern: "registry.invalid/missing*".into(),
                mode: ImageFaultMode::PullFails,
            },
            ImageFault {
                pattern: "private/denied".into(),
                mode: ImageFaultMode::Inaccessible,
            },
        ]
    });
    let (op, g) = env
        .create_and_wait("rg", "img-1", &group_body("registry.invalid/missing:1"))
        .await;
    assert_eq!(op["status"], "Failed");
    assert_eq!(op["error"]["code"], "InaccessibleImage");
    assert_eq!(g["properties"]["provisioningState"], "Failed");
    let view = &g["properties"]["containers"][0]["properties"]["instanceView"];
    assert_eq!(view["currentState"]["state"], "Waiting");
    let names: Vec<&str> = view["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Pulling", "Failed", "BackOff"]);
    assert!(
        view["events"][1]["message"]
            .as_str()
            .unwrap()
            .starts_with("Failed to pull image \"registry.invalid/missing:1\"")
    );

    let (status, code) = error_code(env.put("rg", "img-2", &group_body("private/denied")).await).await;
    assert_eq!((status, code.as_str()), (400, "InaccessibleImage"));
}

#[tokio::test]
async fn random_5xx_does_nothing_and_lost_responses_do_the_write() {
    let env = start(fast_config()).await;
    env.emu.update_faults(|f| f.error_5xx_rate = 1.0);
    for i in 0..6 {
        let r = env.put("rg", &format!("e-{i}"), &group_body("nginx")).await;
        assert!(r.status().is_server_error(), "{}", r.status());
    }
    env.emu.update_faults(|f| f.error_5xx_rate = 0.0);
    assert!(
        env.emu.state().groups.is_empty(),
        "a plain 5xx must not create anything"
    );

    env.emu.update_faults(|f| f.error_5xx_after_write_rate = 1.0);
    let (status, code) = error_code(env.put("rg", "lost", &group_body("nginx")).await).await;
    assert_eq!((status, code.as_str()), (500, "InternalServerError"));
    env.emu.update_faults(|f| f.error_5xx_after_write_rate = 0.0);
    assert_eq!(
        env.get(&env.group_url("rg", "lost")).await.status().as_u16(),
        200,
        "the write happened"
    );
    // A retried PUT is an idempotent update.
    assert_eq!(
        env.put("rg", "lost", &group_body("nginx"))
            .await
            .status()
            .as_u16(),
        200
    );
}

#[tokio::test]
async fn five_xx_rate_is_seeded_and_roughly_right() {
    async fn statuses(seed: u64) -> Vec<u16> {
        let env = start(EmulatorConfig {
            seed,
            ..fast_config()
        })
        .await;
        env.emu.update_faults(|f| f.error_5xx_rate = 0.3);
        let mut out = Vec::new();
        for _ in 0..60 {
            out.push(env.get(&env.group_url("rg", "nope")).await.status().as_u16());
        }
        out
    }
    let (a, b) = (statuses(42).await, statuses(42).await);
    assert_eq!(a, b, "same seed, same faults");
    let errors = a.iter().filter(|s| **s >= 500).count();
    assert!((8..=30).contains(&errors), "{errors} of 60 at rate 0.3");
    assert!(a.iter().all(|s| *s == 404 || *s == 500 || *s == 503));
}

#[tokio::test]
async fn lro_that_never_finishes_and_slow_lros() {
    let env = start(fast_config()).await;
    env.emu.update_faults(|f| f.lro_never_finish = true);
    let r = env.put("rg", "stuck", &group_body("nginx")).await;
    let op = header(&r, "azure-asyncoperation").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.get_json(&op).await.1["status"], "Pending");
    assert_eq!(
        env.get_json(&env.group_url("rg", "stuck")).await.1["properties"]["provisioningState"],
        "Pending"
    );

    env.emu.update_faults(|f| {
        f.lro_never_finish = false;
        f.lro_slow_factor = 4.0;
    });
    let started = Instant::now();
    let (op, _) = env.create_and_wait("rg", "slow", &group_body("nginx")).await;
    assert_eq!(op["status"], "Succeeded");
    assert!(
        started.elapsed() >= Duration::from_millis(160),
        "4 × (≥20 ms + ≥20 ms)"
    );
}

#[tokio::test]
async fn per_call_latency_is_applied_to_arm_calls() {
    let env = start(fast_config()).await;
    env.emu
        .update_faults(|f| f.call_latency = LatencyDist::fixed_ms(100));
    let started = Instant::now();
    let url = env.group_url("rg", "x");
    let handles: Vec<_> = (0..10).map(|_| env.get(&url)).collect();
    for r in futures::future::join_all(handles).await {
        assert_eq!(r.status().as_u16(), 404);
    }
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(100), "{elapsed:?}");
    assert!(
        elapsed < Duration::from_millis(900),
        "concurrent calls are delayed in parallel: {elapsed:?}"
    );
}

#[tokio::test]
async fn crashing_containers_count_restarts() {
    let env = start(fast_config()).await;
    env.emu.update_faults(|f| {
        f.crashing_images = vec![CrashFault {
            pattern: "crashy".into(),
            every_ms: 50,
            exit_code: 137,
        }]
    });
    env.create_and_wait("rg", "crash", &group_body("crashy")).await;
    tokio::time::sleep(Duration::from_millis(260)).await;
    let (_, g) = env.get_json(&env.group_url("rg", "crash")).await;
    let view = &g["properties"]["containers"][0]["properties"]["instanceView"];
    let restarts = view["restartCount"].as_u64().unwrap();
    assert!(restarts >= 4, "{view}");
    assert_eq!(view["previousState"]["state"], "Terminated");
    assert_eq!(view["previousState"]["exitCode"], 137);
    assert_eq!(view["currentState"]["state"], "Running");
}

#[tokio::test]
async fn admin_faults_endpoint_round_trips() {
    let env = start(fast_config()).await;
    let url = format!("{}/_emulator/faults", env.base());
    let put = json!({"callLatency": "100ms", "failingImages": [{"pattern": "bad/*"}]});
    let r = env.http.put(&url).json(&put).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let patched = patch_admin(&env, "faults", json!({"error5xxRate": 0.25, "callLatency": null})).await;
    assert_eq!(patched["error5xxRate"], 0.25);
    assert_eq!(patched["callLatency"], "0", "null resets to the default");
    let typed: Faults = env.http.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(typed, env.emu.faults());
    assert_eq!(typed.failing_images[0].mode, ImageFaultMode::PullFails);
    let r = env
        .http
        .put(&url)
        .json(&json!({"error5xxRate": "lots"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
}
