//! The world's running costs, accrued a run of seconds at a time.

/// VM, ACI and standby-pool costs so far. Seconds at the same prices form a
/// run that is added once, as price × seconds, when the prices change or
/// the costs are read: accruing a span of seconds at once and accruing it
/// second by second give the same costs, bit for bit.
#[derive(Debug, Clone, Default)]
pub struct Costs {
    settled: [f64; 3],
    /// Prices per second of the open run (VM, ACI, pool).
    prices: [f64; 3],
    seconds: u64,
}

impl Costs {
    /// Adds `seconds` at `prices`.
    pub fn accrue(&mut self, prices: [f64; 3], seconds: u64) {
        if prices.map(f64::to_bits) != self.prices.map(f64::to_bits) {
            self.settled = self.now();
            self.prices = prices;
            self.seconds = 0;
        }
        self.seconds += seconds;
    }

    fn now(&self) -> [f64; 3] {
        let n = self.seconds as f64;
        [0, 1, 2].map(|i| self.settled[i] + self.prices[i] * n)
    }

    pub fn vm(&self) -> f64 {
        self.now()[0]
    }
    pub fn aci(&self) -> f64 {
        self.now()[1]
    }
    pub fn pool(&self) -> f64 {
        self.now()[2]
    }
    pub fn total(&self) -> f64 {
        let [vm, aci, pool] = self.now();
        vm + aci + pool
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_costs_what_its_seconds_cost() {
        let mut by_second = Costs::default();
        let mut by_span = Costs::default();
        let runs = [
            ([0.1, 0.0, 0.0], 7),
            ([0.1, 0.3, 0.0], 1000),
            ([0.2, 0.3, 0.05], 13),
        ];
        for (prices, n) in runs {
            for _ in 0..n {
                by_second.accrue(prices, 1);
            }
            by_span.accrue(prices, n / 2);
            by_span.accrue(prices, n - n / 2);
        }
        assert_eq!(by_second.total().to_bits(), by_span.total().to_bits());
        let want = 0.1 * 7.0 + 0.1 * 1000.0 + 0.2 * 13.0;
        assert!((by_span.vm() - want).abs() < 1e-9, "{} vs {want}", by_span.vm());
        assert!((by_span.aci() - 0.3 * 1013.0).abs() < 1e-9);
        assert!((by_span.pool() - 0.05 * 13.0).abs() < 1e-12);
    }
}
