use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::future::BoxFuture;
use spillway_core::config;
use spillway_core::time::Timestamp;

use super::*;

/// A source that answers after `delay`, tracking concurrency and calls.
struct Fake {
    delay: Duration,
    value: f64,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    calls: Mutex<Vec<(String, usize, Instant)>>,
}

impl Fake {
    fn new(delay: Duration, value: f64) -> Arc<Fake> {
        Arc::new(Fake {
            delay,
            value,
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            calls: Mutex::new(Vec::new()),
        })
    }
    fn calls_of(&self, policy: &str) -> Vec<Instant> {
        let calls = self.calls.lock().expect("lock");
        calls
            .iter()
            .filter(|c| c.0 == policy && c.1 == 0)
            .map(|c| c.2)
            .collect()
    }
}

impl MetricSource for Fake {
    fn read<'a>(&'a self, req: MetricRequest<'a>) -> BoxFuture<'a, Result<MetricReading, SourceError>> {
        Box::pin(async move {
            self.calls
                .lock()
                .expect("lock")
                .push((req.policy.to_string(), req.index, Instant::now()));
            let n = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(n, Ordering::SeqCst);
            tokio::time::sleep(self.delay).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
            Ok(MetricReading::Value { value: self.value })
        })
    }
}

fn policies(n: usize, interval: &str, metrics: usize) -> Vec<Arc<Policy>> {
    let mut yaml = format!(
        "cluster: {{ id: t }}\nmetricSources: {{ prometheus: {{ url: 'http://127.0.0.1:9' }} }}\n\
         interval: {interval}\npolicies:\n"
    );
    for i in 0..n {
        yaml.push_str(&format!(
            "- name: p{i}\n  target: {{ namespace: ns, name: w{i} }}\n  maxReplicas: 10\n  metrics:\n"
        ));
        for m in 0..metrics {
            yaml.push_str(&format!(
                "  - prometheus: {{ query: 'q{m}', targetAverageValue: 1 }}\n"
            ));
        }
    }
    let cfg = config::load(&yaml).expect("config");
    cfg.valid_policies().cloned().collect()
}

fn poller(source: Arc<dyn MetricSource>, opts: PollerOptions) -> Poller {
    Poller::new(source, opts).with_clock(Arc::new(TokioClock::new(Timestamp::from_secs(1_000))))
}

#[tokio::test(start_paused = true)]
async fn one_poll_gives_one_sample_per_metric_stamped_with_the_clock() {
    let fake = Fake::new(Duration::from_millis(10), 3.0);
    let p = poller(fake.clone(), PollerOptions::default());
    let pol = &policies(1, "15s", 3)[0];
    let samples = p.poll(pol).await;
    assert_eq!(samples.len(), 3);
    for (i, s) in samples.iter().enumerate() {
        assert_eq!(s.index, i);
        assert_eq!(s.reading, MetricReading::Value { value: 3.0 });
        assert_eq!(s.observed_at, Timestamp::from_secs(1_000));
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_fetch_times_out_into_a_missing_sample_and_is_counted() {
    #[derive(Default)]
    struct Hooks(Mutex<Vec<(SourceKind, Option<&'static str>)>>, AtomicUsize);
    impl PollHooks for Hooks {
        fn fetch_done(&self, s: SourceKind, _: &str, _: Duration, e: Option<&SourceError>) {
            self.0
                .lock()
                .expect("lock")
                .push((s, e.map(SourceError::metric_label)));
        }
        fn poll_done(&self, _: &str, _: Duration, _: &[MetricSample]) {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
    }
    let hooks = Arc::new(Hooks::default());
    let fake = Fake::new(Duration::from_secs(60), 3.0);
    let opts = PollerOptions {
        fetch_timeout: Duration::from_secs(2),
        ..PollerOptions::default()
    };
    let p = poller(fake, opts).with_hooks(hooks.clone());
    let started = Instant::now();
    let samples = p.poll(&policies(1, "15s", 1)[0]).await;
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    let MetricReading::Missing { reason } = &samples[0].reading else {
        panic!("{samples:?}")
    };
    assert_eq!(reason, "prometheus: timed out after 2s");
    assert_eq!(
        *hooks.0.lock().expect("lock"),
        vec![(SourceKind::Prometheus, Some("timeout"))]
    );
    assert_eq!(hooks.1.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn non_finite_values_from_a_source_become_missing() {
    let fake = Fake::new(Duration::ZERO, f64::NAN);
    let samples = poller(fake, PollerOptions::default())
        .poll(&policies(1, "15s", 1)[0])
        .await;
    assert!(matches!(&samples[0].reading, MetricReading::Missing { reason } if reason.contains("NaN")));
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_bounded_over_all_policies() {
    let fake = Fake::new(Duration::from_millis(500), 1.0);
    let opts = PollerOptions {
        max_concurrent: 4,
        ..PollerOptions::default()
    };
    let p = poller(fake.clone(), opts);
    let pols = policies(10, "15s", 2);
    let started = Instant::now();
    join_all(pols.iter().map(|pol| p.poll(pol))).await;
    assert_eq!(fake.max_in_flight.load(Ordering::SeqCst), 4);
    // 20 fetches, 4 at a time, 500 ms each.
    assert_eq!(started.elapsed(), Duration::from_millis(2_500));
}

#[tokio::test(start_paused = true)]
async fn run_polls_each_policy_on_its_interval_with_bounded_jitter() {
    let fake = Fake::new(Duration::from_millis(100), 1.0);
    let p = Arc::new(poller(fake.clone(), PollerOptions::default()));
    let pols = policies(5, "10s", 1);
    let (tx, rx) = watch::channel(pols.clone());
    let (out_tx, mut out_rx) = mpsc::channel(64);
    let cancel = CancellationToken::new();
    let task = tokio::spawn(Arc::clone(&p).run(rx, out_tx, cancel.clone()));
    let t0 = Instant::now();

    // Collect 61 s of polls.
    let mut received = 0usize;
    let deadline = t0 + Duration::from_secs(61);
    while let Ok(Some(msg)) = tokio::time::timeout_at(deadline, out_rx.recv()).await {
        assert_eq!(msg.samples.len(), 1);
        received += 1;
    }
    for pol in &pols {
        let calls = fake.calls_of(&pol.name);
        // First poll within 10 % of the interval, then 10 s ± 10 % apart.
        assert!(
            calls[0] - t0 < Duration::from_secs(1),
            "{}: first {:?}",
            pol.name,
            calls[0] - t0
        );
        for w in calls.windows(2) {
            let gap = w[1] - w[0];
            assert!(
                gap >= Duration::from_secs(9) && gap <= Duration::from_secs(11),
                "{}: gap {gap:?}",
                pol.name
            );
        }
        assert!(
            (6..=7).contains(&calls.len()),
            "{}: {} polls",
            pol.name,
            calls.len()
        );
    }
    assert!(received >= 30);
    // The policies do not all poll at the same instants.
    let firsts: std::collections::BTreeSet<Instant> =
        pols.iter().map(|p| fake.calls_of(&p.name)[0]).collect();
    assert!(firsts.len() > 1);

    // Remove all but p0: only p0 keeps polling.
    tx.send(vec![Arc::clone(&pols[0])]).expect("send");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before: Vec<usize> = pols.iter().map(|p| fake.calls_of(&p.name).len()).collect();
    tokio::time::sleep(Duration::from_secs(30)).await;
    while out_rx.try_recv().is_ok() {}
    let after: Vec<usize> = pols.iter().map(|p| fake.calls_of(&p.name).len()).collect();
    assert!(after[0] >= before[0] + 2, "{before:?} → {after:?}");
    assert_eq!(before[1..], after[1..], "removed policies stopped");

    cancel.cancel();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("run returns after cancel")
        .expect("task");
}
