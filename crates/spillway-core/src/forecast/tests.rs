use super::*;

#[test]
fn holt_extrapolates_a_ramp_exactly() {
    // 100, 110, ..., 190: slope 10 per step; 6 steps on from 190 is 250.
    let ramp: Vec<f64> = (0..10).map(|i| 100.0 + 10.0 * f64::from(i)).collect();
    let f = holt(&ramp, 0.5, 0.3, 6.0).expect("enough points");
    assert!((f - 250.0).abs() < 1e-9, "{f}");
}

#[test]
fn holt_on_a_flat_series_stays_flat() {
    let flat = vec![500.0; 12];
    assert_eq!(holt(&flat, 0.5, 0.3, 8.0), Some(500.0));
}

#[test]
fn holt_follows_a_step_up_with_a_positive_trend() {
    let mut s = vec![100.0; 8];
    s.extend([200.0, 200.0]);
    let f = holt(&s, 0.5, 0.3, 4.0).expect("enough points");
    assert!(f > 200.0, "a fresh step reads as a rise still going on: {f}");
}

#[test]
fn holt_needs_three_points() {
    assert_eq!(holt(&[1.0, 2.0], 0.5, 0.3, 1.0), None);
    assert_eq!(holt(&[1.0, f64::NAN, 3.0], 0.5, 0.3, 1.0), None);
}

/// A daily sine: the same phase one, two, three and four days ago.
#[test]
fn seasonal_naive_takes_the_percentile_of_past_peaks() {
    let day = 86_400.0_f64;
    let load = |t: f64, scale: f64| scale * (1000.0 + 500.0 * (2.0 * std::f64::consts::PI * t / day).sin());
    let now = 10.0 * day + 0.2 * day;
    let horizon = 600.0;
    // Four past days with growth: day k ago is scaled 1 - 0.05 k.
    let windows: Vec<Vec<f64>> = (1..=4)
        .map(|k| {
            let start = now - f64::from(k) * day;
            (0..=10)
                .map(|i| load(start + horizon * f64::from(i) / 10.0, 1.0 - 0.05 * f64::from(k)))
                .collect()
        })
        .collect();
    let peak = |k: u32| {
        let start = now - f64::from(k) * day;
        (0..=10)
            .map(|i| load(start + horizon * f64::from(i) / 10.0, 1.0 - 0.05 * f64::from(k)))
            .fold(f64::MIN, f64::max)
    };
    // The 90th percentile of four peaks is the largest (yesterday's).
    assert_eq!(seasonal_naive(&windows, 90), Some(peak(1)));
    // The 50th is the second smallest of four (nearest rank 2): three days ago.
    assert_eq!(seasonal_naive(&windows, 50), Some(peak(3)));
    assert_eq!(seasonal_naive(&[vec![], vec![f64::NAN]], 90), None);
}

#[test]
fn relative_error_is_bounded() {
    assert!((relative_error(110.0, 100.0) - 0.1).abs() < 1e-12);
    assert_eq!(relative_error(5.0, 0.0), 10.0);
}
