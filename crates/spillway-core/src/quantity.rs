//! Kubernetes resource quantities (`100m`, `1.5Gi`, `2e3`), parsed exactly.
//!
//! The value is kept as a signed count of nano-units in an `i128`, which holds
//! every quantity Kubernetes itself accepts without rounding (Kubernetes keeps
//! at most nano precision). Nothing goes through floating point.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

const NANOS_PER_UNIT: i128 = 1_000_000_000;

/// An exact Kubernetes quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Quantity {
    nanos: i128,
}

/// Why a quantity string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("empty quantity")]
    Empty,
    #[error(
        "invalid quantity {0:?}: expected a number with an optional suffix (m, k, M, G, Ki, Mi, Gi, e3, ...)"
    )]
    Syntax(String),
    #[error("invalid quantity {0:?}: unknown suffix {1:?}")]
    Suffix(String, String),
    #[error("quantity {0:?} is out of range")]
    Overflow(String),
    #[error("quantity {0:?} has more precision than a nano-unit")]
    Precision(String),
}

impl Quantity {
    pub const ZERO: Quantity = Quantity { nanos: 0 };

    pub const fn from_nanos(nanos: i128) -> Self {
        Quantity { nanos }
    }
    pub const fn from_units(units: i64) -> Self {
        Quantity {
            nanos: units as i128 * NANOS_PER_UNIT,
        }
    }
    pub const fn from_millis(millis: i64) -> Self {
        Quantity {
            nanos: millis as i128 * 1_000_000,
        }
    }
    pub const fn nanos(self) -> i128 {
        self.nanos
    }
    /// Milli-units rounded up, as Kubernetes' `MilliValue()` does for requests.
    pub fn millis_ceil(self) -> i128 {
        self.nanos.div_euclid(1_000_000) + i128::from(self.nanos.rem_euclid(1_000_000) != 0)
    }
    /// Whole units rounded up, as Kubernetes' `Value()` does.
    pub fn units_ceil(self) -> i128 {
        self.nanos.div_euclid(NANOS_PER_UNIT) + i128::from(self.nanos.rem_euclid(NANOS_PER_UNIT) != 0)
    }
    /// For display and price arithmetic only; never for comparisons.
    pub fn as_f64(self) -> f64 {
        self.nanos as f64 / NANOS_PER_UNIT as f64
    }
    pub fn is_negative(self) -> bool {
        self.nanos < 0
    }

    /// Parses the Kubernetes quantity grammar:
    /// `<sign><digits>[.<digits>]<suffix>` where suffix is a binary SI suffix
    /// (Ki Mi Gi Ti Pi Ei), a decimal SI suffix (n u m "" k M G T P E) or a
    /// decimal exponent (`e3`, `E-2`).
    pub fn parse(input: &str) -> Result<Quantity, QuantityError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(QuantityError::Empty);
        }
        let syntax = || QuantityError::Syntax(input.to_string());
        let overflow = || QuantityError::Overflow(input.to_string());
        let (negative, rest) = match s.as_bytes()[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, suffix) = rest.split_at(number_end);
        let (int_part, frac_part) = match number.split_once('.') {
            Some((i, f)) => (i, f),
            None => (number, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(syntax());
        }
        if frac_part.contains('.') {
            return Err(syntax());
        }
        // mantissa = digits as an integer, scale10 = power of ten applied to it.
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        // i128 holds 39 digits; `digits` is all ASCII digits, so a failed
        // parse can only be an overflow. (Display writes up to 39 digits.)
        if digits.len() > 39 {
            return Err(overflow());
        }
        let mantissa: i128 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| overflow())?
        };
        let mut scale10: i32 = -(frac_part.len() as i32);
        let mut binary_multiplier: i128 = 1;
        match suffix {
            "" => {}
            "n" => scale10 -= 9,
            "u" => scale10 -= 6,
            "m" => scale10 -= 3,
            "k" => scale10 += 3,
            "M" => scale10 += 6,
            "G" => scale10 += 9,
            "T" => scale10 += 12,
            "P" => scale10 += 15,
            "E" => scale10 += 18,
            "Ki" => binary_multiplier = 1 << 10,
            "Mi" => binary_multiplier = 1 << 20,
            "Gi" => binary_multiplier = 1 << 30,
            "Ti" => binary_multiplier = 1 << 40,
            "Pi" => binary_multiplier = 1 << 50,
            "Ei" => binary_multiplier = 1 << 60,
            other if other.starts_with(['e', 'E']) => {
                let exp: i32 = other[1..]
                    .parse()
                    .map_err(|_| QuantityError::Suffix(input.to_string(), other.to_string()))?;
                if !(-40..=40).contains(&exp) {
                    return Err(overflow());
                }
                scale10 += exp;
            }
            other => return Err(QuantityError::Suffix(input.to_string(), other.to_string())),
        }
        // Convert to nanos: mantissa * binary_multiplier * 10^(scale10 + 9).
        let mut value = mantissa.checked_mul(binary_multiplier).ok_or_else(overflow)?;
        let nano_scale = scale10 + 9;
        if nano_scale >= 0 {
            for _ in 0..nano_scale {
                value = value.checked_mul(10).ok_or_else(overflow)?;
            }
        } else {
            for _ in 0..(-nano_scale) {
                if value % 10 != 0 {
                    return Err(QuantityError::Precision(input.to_string()));
                }
                value /= 10;
            }
        }
        Ok(Quantity {
            nanos: if negative { -value } else { value },
        })
    }

    pub fn checked_add(self, other: Quantity) -> Option<Quantity> {
        self.nanos.checked_add(other.nanos).map(Quantity::from_nanos)
    }
}

impl std::str::FromStr for Quantity {
    type Err = QuantityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quantity::parse(s)
    }
}

impl fmt::Display for Quantity {
    /// Canonical, lossless form: whole units when exact, else milli, else nano.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos % NANOS_PER_UNIT == 0 {
            write!(f, "{}", self.nanos / NANOS_PER_UNIT)
        } else if self.nanos % 1_000_000 == 0 {
            write!(f, "{}m", self.nanos / 1_000_000)
        } else {
            write!(f, "{}n", self.nanos)
        }
    }
}

impl Serialize for Quantity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    /// Accepts a string (`"500m"`) or a plain YAML number (`2`, `0.5`).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Kubernetes quantity such as 500m, 2, 1.5Gi")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Quantity, E> {
                Quantity::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Quantity, E> {
                Quantity::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Quantity, E> {
                Quantity::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Quantity, E> {
                if !v.is_finite() {
                    return Err(E::custom("quantity must be finite"));
                }
                // The shortest round-trip decimal form of the float is what the user wrote.
                Quantity::parse(&format!("{v}")).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_table() {
        let cases: &[(&str, i128)] = &[
            ("0", 0),
            ("1", 1_000_000_000),
            ("100m", 100_000_000),
            ("0.1", 100_000_000),
            (".5", 500_000_000),
            ("1.5Gi", 1_610_612_736 * 1_000_000_000),
            ("2e3", 2_000 * 1_000_000_000),
            ("2E-3", 2_000_000),
            ("1k", 1_000 * 1_000_000_000),
            ("1Ki", 1_024 * 1_000_000_000),
            ("128Mi", 134_217_728 * 1_000_000_000),
            ("1G", 1_000_000_000 * 1_000_000_000),
            ("5n", 5),
            ("3u", 3_000),
            ("-250m", -250_000_000),
            ("+1", 1_000_000_000),
            ("1.25M", 1_250_000 * 1_000_000_000),
            ("1E", 1_000_000_000_000_000_000 * 1_000_000_000),
        ];
        for (s, nanos) in cases {
            assert_eq!(Quantity::parse(s).map(|q| q.nanos()), Ok(*nanos), "{s}");
        }
    }

    #[test]
    fn rejects_table() {
        for s in [
            "", "abc", "1.2.3", "1Qi", "m", "1e", "1e400", "0.5n", "--1", "1 Gi x",
        ] {
            assert!(Quantity::parse(s).is_err(), "{s} should be rejected");
        }
    }

    #[test]
    fn rounding_matches_kubernetes() {
        let q = Quantity::parse("100m").unwrap();
        assert_eq!(q.millis_ceil(), 100);
        assert_eq!(q.units_ceil(), 1);
        let q = Quantity::parse("1500u").unwrap();
        assert_eq!(q.millis_ceil(), 2);
        assert_eq!(Quantity::parse("1Gi").unwrap().units_ceil(), 1 << 30);
    }

    #[test]
    fn display_round_trips() {
        for s in ["0", "1", "100m", "5n", "1536Mi", "2e3"] {
            let q = Quantity::parse(s).unwrap();
            assert_eq!(Quantity::parse(&q.to_string()), Ok(q), "{s}");
        }
    }

    /// Found by `fuzz/fuzz_targets/quantity.rs`: a value with 37-39 digits
    /// of nano-units was displayed (and serialized) in a form that parse
    /// then rejected as out of range.
    #[test]
    fn display_round_trips_at_full_precision() {
        for s in [
            "12345678901234567890123456.1234567k",
            "170141183460469231731687303715884105727n",
            "-170141183460469231731687303715884105727n",
        ] {
            let q = Quantity::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
            assert_eq!(Quantity::parse(&q.to_string()), Ok(q), "{s}");
        }
        for s in [
            "170141183460469231731687303715884105728n",
            "1000000000000000000000000000000000000000",
        ] {
            assert!(
                matches!(Quantity::parse(s), Err(QuantityError::Overflow(_))),
                "{s}"
            );
        }
    }
}
